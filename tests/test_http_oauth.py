"""OAuth 2.1 resource-server mode against a local issuer this test starts (keys generated here, no network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from junior_ai.ai.simulator import Simulator
from tests.http_servers import junior_server, mcp_session, write_config
from tests.test_http_auth import INITIALIZE, MCP_HEADERS, new_token_via_cli, simulated_ai
from tests.test_server_tools import text_of

RESOURCE = "https://mcp.example.test/mcp"


class Issuer:
    """An authorization server's public face: OpenID discovery and a JWKS, plus token minting for the test."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())) | {"kid": "k1", "use": "sig"}
        self.url = ""

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": RESOURCE, "sub": "carol", "iat": now, "exp": now + 600, "scope": "mcp"}
        return jwt.encode(body | claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})


@contextmanager
def local_issuer() -> Iterator[Issuer]:
    issuer = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
            elif self.path == "/jwks":
                body = {"keys": [issuer.jwk]}
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_jwts_from_the_configured_issuer_are_accepted_and_anything_else_gets_401(
    sim: Simulator, tmp_path: Path
) -> None:
    with local_issuer() as issuer:
        static, static_line = new_token_via_cli("robot")
        settings = {
            "oauth": {"issuer": issuer.url, "resource": RESOURCE, "required_scopes": ["mcp"]},
            "http_tokens": {"robot": static_line},  # static tokens and OAuth together
        }
        config = write_config(tmp_path / "c.json", simulated_ai(sim), settings)
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rejected = {
            "expired": issuer.token(exp=int(time.time()) - 3600),
            "other audience": issuer.token(aud="https://elsewhere.example/mcp"),
            "other issuer": issuer.token(iss="https://evil.example"),
            "forged signature": issuer.token(key=other_key),
            "missing scope": issuer.token(scope="read"),
            "not a jwt": "jai_not-a-jwt",
        }
        with junior_server(config) as server:
            async with httpx2.AsyncClient() as http:
                statuses = {
                    name: await http.post(
                        server.url, json=INITIALIZE, headers=MCP_HEADERS | {"Authorization": f"Bearer {token}"}
                    )
                    for name, token in rejected.items()
                }
                metadata = await http.get(f"http://127.0.0.1:{server.port}/.well-known/oauth-protected-resource/mcp")
            async with mcp_session(server.url, issuer.token()) as client:
                answer = await client.call_tool("ask_one", {"ai": "ai", "prompt": "hi"})
                listing = await client.call_tool("list_ais", {})
            async with mcp_session(server.url, static) as client:
                robot = await client.call_tool("list_ais", {})
    assert {name: r.status_code for name, r in statuses.items()} == dict.fromkeys(rejected, 401)
    challenge = statuses["expired"].headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "oauth-protected-resource" in challenge
    assert metadata.status_code == 200
    assert metadata.json()["authorization_servers"] == [issuer.url] and metadata.json()["resource"] == RESOURCE
    assert not answer.is_error and "reply to" in text_of(answer)
    assert (listing.structured_content or {})["principal"] == "oauth:carol"  # the JWT's subject, namespaced
    assert (robot.structured_content or {})["principal"] == "robot"
