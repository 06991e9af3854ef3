"""The deployment files the README points at stay consistent with the code."""

from __future__ import annotations

import re

from junior_ai.core.config import PrincipalLimits, Settings
from junior_ai.core.state import InProcessState
from junior_ai.server.tenancy import Tenancy
from junior_ai.tools.output_budget import ResultStore
from junior_ai.tools.threads import ThreadStore
from tests.conftest import ROOT

COMPOSE = (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")


def test_compose_runs_redis_and_two_replicas_behind_a_proxy_that_reaches_both() -> None:
    services = re.findall(r"^  ([a-z0-9-]+):", COMPOSE, flags=re.MULTILINE)
    assert services == ["redis", "junior-1", "junior-2", "proxy"]
    assert "--to junior-1:8000 --to junior-2:8000" in COMPOSE
    assert "/healthz" in COMPOSE and '"state_url": "redis://redis:6379/0"' in COMPOSE
    assert "junior-2: *junior" in COMPOSE  # the replicas are identical


def test_the_image_copies_every_layer_folder_and_serves_http_on_all_interfaces() -> None:
    for folder in ("junior_ai", "server", "tools", "ai", "core"):
        assert f"COPY {folder} ./{folder}" in DOCKERFILE and (ROOT / folder).is_dir()
    assert '"--transport", "streamable-http", "--host", "0.0.0.0"' in DOCKERFILE


def test_a_principal_without_its_own_limits_gets_the_star_entry() -> None:
    settings = Settings(principals={"alice": PrincipalLimits(usd_per_day=5), "*": PrincipalLimits(usd_per_day=1)})
    state = InProcessState()
    tenancy = Tenancy(
        settings, state, ThreadStore(ttl_s=60, max_threads=5, max_messages=10), ResultStore(ttl_s=60, max_bytes=1000)
    )
    assert tenancy.limits("alice").usd_per_day == 5
    assert tenancy.limits("bob").usd_per_day == 1
    assert (
        Tenancy(
            Settings(), state, ThreadStore(ttl_s=60, max_threads=5, max_messages=10), ResultStore(ttl_s=60, max_bytes=1)
        ).limits("bob")
        == PrincipalLimits()
    )
