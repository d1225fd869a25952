"""CloudFormation's side of a ResponseURL: an HTTPS server that takes the handler's PUTs.

Its certificate comes from a throwaway CA; a handler process trusts it through SSL_CERT_FILE set to `ca_file`,
and verifies it as it must verify CloudFormation's.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme


@dataclass
class ReceivedResponse:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ResponseReceiver:
    """HTTPS server standing in for CloudFormation's ResponseURL endpoint.

    `answers` is a queue of HTTP statuses to answer with (200 once it is empty); None means never answer.
    """

    answers: list[int | None] = field(default_factory=list)
    received: list[ReceivedResponse] = field(default_factory=list)
    ca_file: str = ""

    def start(self) -> ResponseReceiver:
        authority = trustme.CA()
        certificate = authority.issue_cert("localhost", "127.0.0.1")
        self._directory = tempfile.TemporaryDirectory()
        self.ca_file = os.path.join(self._directory.name, "ca.pem")
        authority.cert_pem.write_to_path(self.ca_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(context)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._directory.cleanup()

    def url(self, name: str) -> str:
        """A ResponseURL shaped like CloudFormation's presigned S3 URL."""
        return (
            f"https://localhost:{self.port}/cloudformation-custom-resource-response/{name}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=sig{uuid.uuid4().hex}"
        )

    def responses_for(self, name: str) -> list[ReceivedResponse]:
        with self._lock:
            return [response for response in self.received if response.path.endswith(f"/{name}")]

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.answers.clear()

    def _record(self, response: ReceivedResponse) -> int | None:
        with self._lock:
            self.received.append(response)
            return self.answers.pop(0) if self.answers else 200


def _receiver_handler(receiver: ResponseReceiver) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            path, _, query = self.path.partition("?")
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"unparsable": raw.decode(errors="replace")}
            status = receiver._record(ReceivedResponse(path, query, dict(self.headers), body))
            if status is None:
                receiver._release.wait(30)  # a ResponseURL that never answers
                return
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler
