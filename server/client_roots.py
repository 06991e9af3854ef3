"""The MCP host's declared roots (protocol 2025-11-25 `roots/list`): where context files may come from.

Roots are honoured when a host offers them and never depended on: 2026-07-28 deprecates server-to-client
requests (SEP-2577), many hosts declare none, and a host that fails to answer must not hold up the tool call.
Without roots, the settings' `allowed_paths` or the working directory apply (see `tools/context/boundary.py`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
from mcp.server.mcpserver import Context

from junior_ai.core.log import get_logger

log = get_logger(__name__)

ROOTS_TIMEOUT_S = 5.0


async def client_roots(ctx: Context[Any, Any]) -> list[Path] | None:
    """The host's `file://` roots, or None when it declares none, cannot be asked, or does not answer in time."""
    try:
        session = ctx.request_context.session
        capabilities = session.client_capabilities
        if capabilities is None or capabilities.roots is None or not session.can_send_request:
            return None
        with anyio.move_on_after(ROOTS_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in 2026-07-28; we use them only where offered
            listed = await session.list_roots()
            roots = [path for root in listed.roots if (path := _file_path(str(root.uri))) is not None]
            return roots or None
    except Exception as exc:  # a host's broken roots answer must not fail the call: the fallbacks apply
        log.info("client_roots_unavailable", error=type(exc).__name__)
    return None


def _file_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parsed.path))
