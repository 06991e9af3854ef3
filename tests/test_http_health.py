"""`/healthz` against a real `redis-server` that hangs (SIGSTOP): the load balancer gets its 503 promptly, well
before the Redis client's own socket timeout, and 200 again once Redis answers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx2

from tests.http_servers import junior_server, redis_server, write_config

CLIENT_TIMEOUT_S = 6.0
"""Above the health check's own ~1.5 s limit, below the Redis client's 10 s socket timeout: without the limit,
the health check outlives this client and the test fails."""


async def test_healthz_answers_503_promptly_while_redis_hangs_and_200_once_it_answers_again(tmp_path: Path) -> None:
    with redis_server(tmp_path) as redis:
        config = write_config(tmp_path / "c.json", {}, {"state_url": redis.url})
        with junior_server(config) as server:
            health_url = f"http://127.0.0.1:{server.port}/healthz"
            async with httpx2.AsyncClient(timeout=httpx2.Timeout(CLIENT_TIMEOUT_S)) as http:
                before = await http.get(health_url)
                os.kill(redis.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing
                try:
                    hung = [await http.get(health_url) for _ in range(3)]
                finally:
                    os.kill(redis.process.pid, signal.SIGCONT)
            async with httpx2.AsyncClient(timeout=httpx2.Timeout(120.0)) as http:
                after = await http.get(health_url)
            assert server.process.poll() is None
    assert before.status_code == 200
    for response in hung:
        assert response.status_code == 503 and response.text == "unavailable"
    assert after.status_code == 200 and after.text == "ok"
