"""The state seam's contract, held by both implementations: in-process and a real redis-server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from junior_ai.core.config import ConfigError, load_config
from junior_ai.core.redact import redact
from junior_ai.core.state import InProcessState, StateStore, StateUnavailableError, open_state
from tests.http_servers import redis_server


@pytest.fixture(params=["in-process", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_url(kind: str, tmp_path: Path) -> Iterator[str | None]:
    if kind == "in-process":
        yield None
        return
    with redis_server(tmp_path) as redis:
        yield redis.url


@asynccontextmanager
async def opened(url: str | None) -> AsyncIterator[StateStore]:
    state = open_state(url)
    try:
        yield state
    finally:
        await state.aclose()


async def test_the_state_contract_holds(redis_url: str | None) -> None:
    async with opened(redis_url) as state:
        assert state.shared is (redis_url is not None)
        await state.put("k", "v", ttl_s=60)
        assert await state.get("k") == "v" and await state.get("missing") is None
        assert await state.put_if_absent("lease", "me", ttl_s=60) is True
        assert await state.put_if_absent("lease", "you", ttl_s=60) is False  # one lease holder
        assert await state.delete_if("lease", "you") is False and await state.delete_if("lease", "me") is True
        assert await state.incr("n", 2.5, ttl_s=60) == 2.5 and await state.incr("n", -1) == 1.5
        assert float(await state.get("n") or 0) == 1.5
        await state.incr_many({"a": 1, "b": 2}, ttl_s=60)
        assert (float(await state.get("a") or 0), float(await state.get("b") or 0)) == (1, 2)
        assert [await state.append("list", item, ttl_s=60) for item in "xyz"] == [1, 2, 3]
        assert await state.items("list") == ["x", "y", "z"]
        for score, member in enumerate(["old", "mid", "new"]):
            await state.index_add("idx", member, float(score), ttl_s=60)
        assert [m for m, _ in await state.index_members("idx", min_score=1)] == ["mid", "new"]
        assert await state.index_trim("idx", 2) == ["old"]
        await state.index_remove("idx", "mid")
        assert [m for m, _ in await state.index_members("idx")] == ["new"]
        assert await state.append_indexed("rec:a", "1", "by-owner", "a", 1.0, ttl_s=60, keep=2) == []
        assert await state.append_indexed("rec:b", "2", "by-owner", "b", 2.0, ttl_s=60, keep=2) == []
        assert await state.append_indexed("rec:c", "3", "by-owner", "c", 3.0, ttl_s=60, keep=2) == ["a"]
        assert [m for m, _ in await state.index_members("by-owner")] == ["b", "c"]
        assert await state.items("rec:c") == ["3"]
        # `first` goes in only when the list is new: a header written with the record's first item
        assert await state.append_indexed("rec:d", "t1", "by-owner", "d", 4.0, ttl_s=60, keep=9, first="h") == []
        assert await state.append_indexed("rec:d", "t2", "by-owner", "d", 5.0, ttl_s=60, keep=9, first="h") == []
        assert await state.items("rec:d") == ["h", "t1", "t2"]
        # `evict_prefix`: a trimmed member's own record goes in the same step
        trimmed = await state.append_indexed("rec:e", "5", "by-owner", "e", 6.0, ttl_s=60, keep=1, evict_prefix="rec:")
        assert trimmed == ["b", "c", "d"]
        assert [m for m, _ in await state.index_members("by-owner")] == ["e"]
        assert [await state.items(f"rec:{m}") for m in "bcde"] == [[], [], [], ["5"]]
        assert await state.reserve_slot("rpm", 60, 5) == 0  # the first slot is now
        assert await state.reserve_slot("rpm", 60, 5) is None  # the next is 60 s away: beyond 5 s, not taken
        wait = await state.reserve_slot("rpm", 60, 120)
        assert wait is not None and 59 < wait <= 60
        await state.delete("k")
        assert await state.get("k") is None


async def test_concurrent_increments_from_two_clients_are_never_lost(redis_url: str | None) -> None:
    shared = InProcessState()
    async with opened(redis_url) as first, opened(redis_url) as second:
        stores = [first, second] if redis_url else [shared, shared]

        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(stores[n % 2].incr, "counter", 1.0)
        assert float(await stores[0].get("counter") or 0) == 200


async def test_expired_keys_read_as_absent_in_process() -> None:
    now = [0.0]
    state = InProcessState(clock=lambda: now[0], sweep_every=2)
    await state.put("short", "x", ttl_s=1)
    await state.put("long", "y", ttl_s=100)
    now[0] = 2
    assert await state.get("short") is None and await state.get("long") == "y"
    await state.put("another", "z", ttl_s=1)  # a write sweeps what nobody reads again
    now[0] = 3
    await state.put("more", "w")
    assert len(state) == 2  # "long" and "more"


async def test_an_unreachable_redis_is_one_actionable_error_without_its_password(tmp_path: Path) -> None:
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"settings": {"state_url": "redis://:hunter2-secret@127.0.0.1:1/0"}}))
    config_file.chmod(0o600)
    config = load_config(str(config_file))
    assert "hunter2-secret" not in redact(f"url {config.settings.state_url}")  # registered at load time
    async with opened(config.settings.state_url) as state:
        with pytest.raises(StateUnavailableError) as caught:
            await state.get("x")
    assert "Check that Redis is running" in str(caught.value) and "hunter2-secret" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "unix:///tmp/junior-ai-nope.sock?password=PwLeak123",
        "redis://127.0.0.1:1/0?password=PwLeak123",
        "redis://PwLeak123@127.0.0.1:1/0",
        "redis://someone:PwLeak123@127.0.0.1:1/0",
    ],
)
async def test_an_unreachable_redis_names_the_setting_never_its_password_or_host(tmp_path: Path, url: str) -> None:
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"settings": {"state_url": url}}))
    config_file.chmod(0o600)
    config = load_config(str(config_file))
    assert "PwLeak123" not in redact(f"url {config.settings.state_url}")  # every form registered at load time
    async with opened(config.settings.state_url) as state:
        with pytest.raises(StateUnavailableError) as caught:
            await state.get("x")
    message = str(caught.value)
    assert "shared state store (settings.state_url) is unreachable" in message
    assert "PwLeak123" not in message and "127.0.0.1" not in message and "nope.sock" not in message


def test_a_malformed_state_url_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"settings": {"state_url": "redis://:pw-Secret9@[::1"}}))
    config_file.chmod(0o600)
    with pytest.raises(ConfigError, match=r"settings\.state_url is not a valid URL") as caught:
        load_config(str(config_file))
    assert "pw-Secret9" not in str(caught.value)


def test_a_state_url_that_is_not_redis_is_refused_plainly() -> None:
    with pytest.raises(StateUnavailableError, match="must be a redis://"):
        open_state("http://example.com")


async def test_call_leases_admit_up_to_the_limit_across_clients_and_a_refusal_extends_nothing(
    redis_url: str | None,
) -> None:
    shared = InProcessState()
    async with opened(redis_url) as first, opened(redis_url) as second:
        stores = [first, second] if redis_url else [shared, shared]
        admitted: list[str] = []

        async def acquire(n: int) -> None:
            if await stores[n % 2].lease_acquire("slots:p", f"call{n}", limit=3, lease_s=60):
                admitted.append(f"call{n}")

        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(acquire, n)
        assert len(admitted) == 3
        if redis_url:  # the lease set's members and their lease ends, as Redis keeps them
            held = await first.index_members("slots:p")
            assert await first.lease_acquire("slots:p", "late", limit=3, lease_s=3_600) is False
            assert await first.index_members("slots:p") == held  # the refusal wrote and extended nothing
            await first.lease_renew("slots:p", [admitted[0], "never-held"], 120)
            renewed = dict(await first.index_members("slots:p"))
            assert "never-held" not in renewed and renewed[admitted[0]] > dict(held)[admitted[0]]
        await stores[0].lease_release("slots:p", admitted[0])
        assert await stores[1].lease_acquire("slots:p", "after-release", limit=3, lease_s=60) is True


async def test_an_expired_lease_frees_its_place_without_anyone_releasing_it() -> None:
    now = [0.0]
    state = InProcessState(clock=lambda: now[0])
    assert await state.lease_acquire("slots:p", "dead", limit=1, lease_s=30)
    assert not await state.lease_acquire("slots:p", "retry", limit=1, lease_s=30)
    now[0] = 20
    await state.lease_renew("slots:p", ["dead"], 30)  # renewed while its call runs: lasts until 50
    now[0] = 45
    assert not await state.lease_acquire("slots:p", "retry", limit=1, lease_s=30)
    now[0] = 51  # no renewal since: its process died
    assert await state.lease_acquire("slots:p", "retry", limit=1, lease_s=30)


async def test_concurrent_budget_reservations_admit_only_what_fits_and_settle_to_the_real_cost(
    redis_url: str | None,
) -> None:
    shared = InProcessState()
    async with opened(redis_url) as first, opened(redis_url) as second:
        stores = [first, second] if redis_url else [shared, shared]
        refusals: list[float] = []
        admitted: list[str] = []

        async def reserve(n: int) -> None:
            refused = await stores[n % 2].budget_reserve("spend", "res", f"r{n}|0.4", 0.4, 1.0, lease_s=60)
            if refused is not None:
                refusals.append(refused)
            else:
                admitted.append(f"r{n}|0.4")

        async with anyio.create_task_group() as tg:
            for n in range(10):
                tg.start_soon(reserve, n)
        assert len(refusals) == 8  # 0.4 + 0.4 fit in 1.0; a third would not
        for member in admitted:
            await stores[0].budget_settle("spend", "res", member, 0.3, ttl_s=60)
        assert float(await stores[0].get("spend") or 0) == pytest.approx(0.6)
        # Nothing in flight: a call is admitted while anything is left, even if its estimate is larger.
        assert await stores[1].budget_reserve("spend", "res", "big|5", 5.0, 1.0, lease_s=60) is None
        assert await stores[0].budget_reserve("spend", "res", "next|0.1", 0.1, 1.0, lease_s=60) == pytest.approx(5.6)
