"""What a Host header value is, for the HTTP guard and for checking `settings.allowed_hosts` at load time.

One parser for both, so an `allowed_hosts` entry the config accepts is one the guard can match: a name or an
address, optionally with `:PORT` or `:*` (any port, the only wildcard the MCP SDK's own Host check supports).
"""

from __future__ import annotations

import re

_HOST = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(?::([0-9]{1,5}))?$")


def parse_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` (lower-cased) or None when it is anything else (userinfo, junk after the port, bad port)."""
    match = _HOST.match(value.strip().lower())
    if match is None:
        return None
    port = match.group(3)
    if port is not None and not 0 < int(port) < 65536:
        return None
    return match.group(1), int(port) if port is not None else None


def allowed_host_problem(entry: str) -> str | None:
    """Why `entry` (already lower-cased) can never match a Host header, or None."""
    name = entry[:-2] if entry.endswith(":*") else entry
    parsed = parse_host(name)
    if parsed is not None and (parsed[1] is None or name == entry):
        return None
    shown = repr(entry) if len(entry) <= 100 else f"an entry of {len(entry)} characters"
    return (
        f"allowed_hosts: {shown} can never match a Host header. Write a host name or address as clients send it, "
        'optionally with :PORT or :* for any port (e.g. "mcp.example.com", "proxy:8080", "proxy:*", "[fd00::2]"); '
        "no scheme, path or wildcard in the name"
    )
