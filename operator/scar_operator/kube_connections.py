"""The operator's connections to the Kubernetes API: kopf's own login, in a session whose
requests take turns.

kopf's session sets no connection limit: a request made while others are in flight opens one more
connection. On a real API server each is a TLS connection, with a 256 KiB read buffer in asyncio's
SSL layer and OpenSSL's own state, and it stays open in the pool afterwards. 1,000 ScarFunctions
applied at once held about 320 connections to kube-apiserver, and deleting them about 770 (336 MB of
resident memory; README, "The operator at scale").

A plain connection limit would not do: kopf's watches are requests that last for minutes, one
per resource and namespace, and enough of them would hold every connection, so that no status
could be written. Instead, each request that is not a watch waits for one of a fixed number of
turns, reads its whole answer, and only then gives its turn back. The connections are then at
most the turns plus the watches, and the pool reuses them. kopf reads each answer whole anyway.

The credentials are found as kopf finds them itself (`kopf.login_via_client`: the pod's service
account, else the kubeconfig with its exec plugins and auth providers); kopf calls this login
again when they are refused, and closes the session it replaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import kopf

Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
Middleware = Callable[[aiohttp.ClientRequest, Handler], Awaitable[aiohttp.ClientResponse]]


def is_watch(query: Mapping[str, str]) -> bool:
    """A watch is a GET with watch=true in its query (kopf's, and every other client's)."""
    return query.get("watch", "").lower() in ("true", "1")


def checked(turns: int) -> int:
    if turns < 1:
        raise ValueError(f"SCAR_KUBE_REQUESTS must be at least 1, not {turns}")
    return turns


def taking_turns(turns: int) -> Middleware:
    """A client middleware: at most `turns` requests other than watches are in flight at once,
    each until its answer is read whole (so that its connection is back in the pool)."""
    semaphore = asyncio.Semaphore(checked(turns))

    async def middleware(request: aiohttp.ClientRequest, handler: Handler) -> aiohttp.ClientResponse:
        if is_watch(request.url.query):
            return await handler(request)
        async with semaphore:
            response = await handler(request)
            await response.read()
            return response

    return middleware


def session_for(info: kopf.ConnectionInfo, turns: int) -> kopf.AiohttpSession:
    """The session kopf would make from these credentials, with its requests taking turns."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
        trust_env=info.trust_env,
        middlewares=(taking_turns(turns),),
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
    )


def install(turns: int) -> None:
    """Register the login: kopf then uses it instead of its own (it registers its own only when
    an operator has none)."""
    checked(turns)  # a wrong setting stops the operator at its start, not at every login

    @kopf.on.login(id="login_taking_turns")
    async def login(**kwargs: Any) -> kopf.AiohttpSession | None:
        # kopf's own login reads files (and may run an exec plugin): not on the event loop.
        info = await asyncio.to_thread(kopf.login_via_client, **kwargs)
        return None if info is None else session_for(info, turns)
