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
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")


def test_compose_runs_redis_and_two_replicas_behind_a_proxy_that_reaches_both() -> None:
    services = re.findall(r"^  ([a-z0-9-]+):", COMPOSE, flags=re.MULTILINE)
    assert services == ["redis", "junior-1", "junior-2", "proxy"]
    assert "reverse_proxy junior-1:8000 junior-2:8000 {" in CADDYFILE
    assert "- ./Caddyfile:/etc/caddy/Caddyfile:ro" in COMPOSE and '"/etc/caddy/Caddyfile"' in COMPOSE
    assert '"state_url": "redis://redis:6379/0"' in COMPOSE
    assert "junior-2: *junior" in COMPOSE  # the replicas are identical


def test_the_proxy_actively_polls_healthz_and_drops_a_replica_that_fails_it() -> None:
    """`caddy reverse-proxy` (the CLI) has no active health checks: a replica whose Redis is gone (503) would stay
    in rotation. The Caddyfile polls /healthz, often enough that a bad replica leaves within seconds."""
    directives = dict(
        line.split(None, 1) for line in (raw.strip() for raw in CADDYFILE.splitlines()) if line.startswith("health_")
    )
    assert directives["health_uri"] == "/healthz"
    assert directives["health_status"] == "200"
    interval = re.fullmatch(r"(\d+)s", directives["health_interval"])
    assert interval is not None and 1 <= int(interval.group(1)) <= 5
    assert re.search(r"^\s+reverse-proxy|caddy reverse-proxy", COMPOSE, flags=re.MULTILINE) is None


def test_compose_tells_how_to_run_the_replicas_as_you() -> None:
    """bash's UID is not exported and GID does not exist: compose needs them on its command line (or in .env)."""
    assert 'user: "${UID:-1000}:${GID:-1000}"' in COMPOSE
    assert "UID=$(id -u) GID=$(id -g) docker compose up -d" in COMPOSE
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "UID=$(id -u) GID=$(id -g)\ndocker compose up -d" in readme or "UID=$(id -u) GID=$(id -g) docker" in readme


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
