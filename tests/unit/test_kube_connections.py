"""The operator's Kubernetes API requests take turns: a bounded number in flight, watches aside,
so that a burst of status writes reuses a few connections instead of opening one each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import kopf
import pytest
from aiohttp import web
from scar_operator import kube_connections


@dataclass
class Server:
    """A loopback API server that counts what reaches it: requests in flight at once, and the
    client connections (by their source port) they came on."""

    url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    ports: set[int] = field(default_factory=set)
    authorization: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, request: web.Request) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.ports.add(peer[1])
        self.authorization.add(request.headers.get("Authorization", ""))

    async def answer(self, request: web.Request) -> web.StreamResponse:
        self.arrived(request)
        if request.query.get("watch") == "true":
            # Like a watch: the answer starts, then stays open until the test lets it go.
            stream = web.StreamResponse()
            await stream.prepare(request)
            await stream.write(b'{"type": "ADDED"}\n')
            await self.release.wait()
            await stream.write_eof()
            return stream
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)  # a status write takes the server a moment
        self.in_flight -= 1
        # The answer's headers come first and its body a moment later, as a large object's would.
        answer = web.StreamResponse(headers={"Content-Type": "application/json"})
        await answer.prepare(request)
        await answer.write(b'{"kind": "ScarFunction", ')
        await asyncio.sleep(0.01)
        await answer.write(b'"body": "' + b"x" * 100_000 + b'"}')
        await answer.write_eof()
        return answer


@asynccontextmanager
async def serving() -> AsyncIterator[Server]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_a_burst_of_requests_uses_no_more_connections_than_turns() -> None:
    async def burst() -> None:
        async with serving() as server:
            context = kube_connections.session_for(kopf.ConnectionInfo(server=server.url), turns=3)
            async with context.aiohttp_session as session:

                async def write(index: int) -> dict[str, Any]:
                    async with session.patch(f"{server.url}/objects/{index}", json={"status": {}}) as response:
                        return dict(await response.json())

                answers = await asyncio.gather(*(write(i) for i in range(60)))
            assert all(a["kind"] == "ScarFunction" for a in answers)
            assert server.most_in_flight <= 3
            # Each answer was read whole before its turn was given back: its connection went back
            # to the pool and served the next request, instead of a new one being opened.
            assert 1 <= len(server.ports) <= 3

    run(burst)


def test_watches_take_no_turn_and_do_not_starve_other_requests() -> None:
    async def watches_then_a_write() -> None:
        async with serving() as server:
            context = kube_connections.session_for(kopf.ConnectionInfo(server=server.url), turns=1)
            async with context.aiohttp_session as session:
                watches = [await session.get(f"{server.url}/watch/{i}", params={"watch": "true"}) for i in range(3)]
                assert [await w.content.readline() for w in watches] == [b'{"type": "ADDED"}\n'] * 3
                # Three watches are open, more than the one turn: a status write still goes through.
                async with asyncio.timeout(10):
                    async with session.patch(f"{server.url}/objects/f", json={}) as response:
                        assert response.status == 200
                server.release.set()
                for watch in watches:
                    await watch.read()
                    watch.release()

    run(watches_then_a_write)


def test_the_session_carries_the_credentials_kopf_found() -> None:
    async def authorised() -> None:
        async with serving() as server:
            info = kopf.ConnectionInfo(server=server.url, scheme="Bearer", token="t0k3n", default_namespace="team",
                                       priority=5)
            context = kube_connections.session_for(info, turns=2)
            async with context.aiohttp_session as session, session.get(f"{server.url}/version") as response:
                assert response.status == 200
            assert server.authorization == {"Bearer t0k3n"}
            assert (context.server, context.default_namespace, context.priority) == (server.url, "team", 5)

    run(authorised)


def test_turns_must_be_at_least_one_and_the_operator_says_so_at_its_start() -> None:
    with pytest.raises(ValueError, match="SCAR_KUBE_REQUESTS must be at least 1, not 0"):
        kube_connections.install(0)


def test_a_watch_is_told_apart_by_its_query() -> None:
    assert kube_connections.is_watch({"watch": "true", "resourceVersion": "1"})
    assert not kube_connections.is_watch({"limit": "100"})
