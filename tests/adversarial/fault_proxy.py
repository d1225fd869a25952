"""A fault-injecting HTTP proxy in front of the Lambda stand-in, so faults travel the real HTTP path.

moto always answers, and always correctly. Lambda also throttles, fails with a 5xx, resets
connections and stalls. The proxy plays those faults from a script, per API operation, over real
sockets: botocore parses a genuine 429, sees a genuine connection reset, and hits its own read timeout.
The handler's client is pointed at the proxy by a botocore `before-send` hook that also names the
operation in a header, so the proxy never has to reverse-engineer Lambda's REST paths.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

OPERATION_HEADER = "x-adversarial-operation"
# Headers that describe one hop, not the request: the proxy sets its own.
_HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", OPERATION_HEADER}
_STALL_LIMIT = 30.0  # seconds; far beyond botocore's read timeout, and released early when the proxy stops


@dataclass(frozen=True)
class Forward:
    """Pass the request on; with `delay`, the call lands at once but its answer comes back late."""

    delay: float = 0.0
    name: str = "forwarded"


@dataclass(frozen=True)
class Refuse:
    """Answer with a Lambda error without passing the request on: nothing changes. With `retry_after`, the
    answer carries a Retry-After header, as Lambda's 429 does."""

    status: int
    code: str
    message: str
    retry_after: int | None = None

    @property
    def name(self) -> str:
        return f"{self.status} {self.code}"


@dataclass(frozen=True)
class Reset:
    """Reset the TCP connection; with `after_forwarding`, only after the call reached Lambda."""

    after_forwarding: bool = False

    @property
    def name(self) -> str:
        return "connection reset after landing" if self.after_forwarding else "connection reset"


@dataclass(frozen=True)
class Stall:
    """Never answer, so the client's read timeout fires; with `after_forwarding`, the call still lands."""

    after_forwarding: bool = False

    @property
    def name(self) -> str:
        return "stalled after landing" if self.after_forwarding else "stalled"


Fault = Forward | Refuse | Reset | Stall

FORWARD = Forward()
THROTTLED = Refuse(429, "TooManyRequestsException", "Rate exceeded")
THROTTLED_RETRY_AFTER_1 = Refuse(429, "TooManyRequestsException", "Rate exceeded", retry_after=1)
SERVICE_EXCEPTION = Refuse(500, "ServiceException", "The AWS Lambda service encountered an internal error.")
POLICY_FULL = Refuse(400, "PolicyLengthExceededException", "The final policy size is bigger than the limit.")


class FaultProxy:
    """Plays a script of faults per Lambda operation, then forwards; `seen` counts what reached the wire."""

    def __init__(self, upstream_url: str) -> None:
        upstream = urlsplit(upstream_url)
        self._upstream = (upstream.hostname, upstream.port)
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Fault]] = {}
        self._after: dict[str, Fault] = {}
        self._release = threading.Event()
        self.seen: Counter[tuple[str, str]] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def plan(self, operation: str, *faults: Fault, then: Fault = FORWARD) -> None:
        """The next calls of `operation` meet `faults` in order, and every later call meets `then`."""
        with self._lock:
            self._scripts[operation] = deque(faults)
            self._after[operation] = then

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._after.clear()
            self.seen.clear()

    def calls(self, operation: str) -> int:
        with self._lock:
            return sum(count for (name, _), count in self.seen.items() if name == operation)

    def _next_fault(self, operation: str) -> Fault:
        with self._lock:
            script = self._scripts.get(operation)
            fault = script.popleft() if script else self._after.get(operation, FORWARD)
            self.seen[(operation, fault.name)] += 1
            return fault

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=_STALL_LIMIT)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()


def _proxy_handler(proxy: FaultProxy) -> type:
    class Exchange(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def do_GET(self) -> None:
            self._exchange()

        do_POST = do_PUT = do_DELETE = do_GET

        def _exchange(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            fault = proxy._next_fault(self.headers.get(OPERATION_HEADER, "unknown"))
            forwarded = None
            if isinstance(fault, Forward) or (isinstance(fault, (Reset, Stall)) and fault.after_forwarding):
                headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_HEADERS}
                forwarded = proxy._forward(self.command, self.path, headers, body)
            if isinstance(fault, Reset):
                self._reset()
            elif isinstance(fault, Stall):
                proxy._release.wait(_STALL_LIMIT)
                self.close_connection = True
            elif isinstance(fault, Refuse):
                error = {"Type": "User" if fault.status < 500 else "Service", "message": fault.message}
                headers = {"x-amzn-ErrorType": fault.code}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                self._reply(fault.status, headers, json.dumps(error).encode())
            else:
                if fault.delay:
                    proxy._release.wait(fault.delay)
                self._reply(*forwarded)

        def _reply(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in _HOP_HEADERS:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            # Linger 0 turns close() into a TCP RST; the socket closes for real once its file objects do.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.rfile.close()
            self.wfile.close()
            self.close_connection = True

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Exchange


def redirect_to(proxy: FaultProxy) -> Any:
    """A botocore `before-send` hook that sends the request through the proxy, naming its operation."""
    target = urlsplit(proxy.url)

    def redirect(request: Any, event_name: str, **_: Any) -> None:
        request.url = urlsplit(request.url)._replace(scheme=target.scheme, netloc=target.netloc).geturl()
        request.headers[OPERATION_HEADER] = event_name.rsplit(".", 1)[-1]

    return redirect
