"""A loopback HTTP server of the emulators and test stand-ins, served from a thread of its own
for as long as a `with` block runs."""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def serving(server: socketserver.BaseServer, name: str) -> Iterator[None]:
    """Serve until the block ends, then stop and wait for the serving thread."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()
