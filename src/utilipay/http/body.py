"""A request's body and path as the client sent them: what a signature covers.

The edge (``web.edge``) reads the body once, refusing it past ``MAX_BODY`` before any of it
is parsed, and hands it on in the scope under ``BODY_KEY``; servers without that edge (the
simulators) read theirs with ``read_limited``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.requests import Request

MAX_BODY = 64 * 1024
BODY_KEY = "utilipay.body"
# Files uploaded in the console (bills, readings) are larger than any API call: their
# form may be this large, the file in it a little less (``console.pages.imports``).
UPLOADS = "/console/imports/"
MAX_UPLOAD = 16 * 1024 * 1024


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` may send."""
    return MAX_UPLOAD if path.startswith(UPLOADS) else MAX_BODY


async def read_limited(request: Request, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """A request's body for a server without this edge (the simulators): ``too_large()`` is
    raised as soon as the body is known to exceed ``limit``, before it is all read."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def raw_path_with_query(scope: MutableMapping[str, Any]) -> str:
    """The path and query string exactly as the client sent them (for the signature)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    path = raw.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path
