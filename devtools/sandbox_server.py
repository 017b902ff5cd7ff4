"""The loopback HTTP server every provider sandbox runs on (devtools/*_sandbox.py): a WSGI app,
one thread per request, each request logged to stderr under the sandbox's name."""

import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request: a provider answers a fetch while a create is still in flight,
    and a sandbox may call our webhook while one of our requests to it is open."""

    daemon_threads = True


def serve_sandbox(app: WsgiApp, *, name: str, port: int, host: str = "127.0.0.1") -> WSGIServer:
    """A server for a sandbox (call serve_forever(), or run it in a thread in tests)."""

    class NamedHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{name}: {format % args}\n")

    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=NamedHandler)
