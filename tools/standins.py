"""Local stand-ins for the AWS parts a deployment talks to, used by the tests and by the local deploy.

- `LambdaStandIn`: a moto server on 127.0.0.1 (real HTTP, real botocore). moto 5.2.5's layer-policy
  calls are not faithful to Lambda, so they are replaced here with what Lambda documents: a duplicate
  StatementId is a ResourceConflict, RevisionId is honoured on add and on remove, and statements are
  stored in Lambda's shape (an account as {"AWS": "arn:aws:iam::<account>:root"}, an organization as
  an aws:PrincipalOrgID condition).
- `ResponseReceiver`: an HTTPS server that takes the PUTs to CloudFormation's ResponseURL, with a
  certificate from a throwaway CA that the process trusts through SSL_CERT_FILE.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import ssl
import tempfile
import threading
import uuid
import zipfile
from urllib.parse import unquote
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from moto.awslambda.exceptions import GenericResourcNotFound, LambdaClientError, PreconditionFailedException
from moto.awslambda.responses import LambdaResponse
from moto.server import ThreadedMotoServer

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:layer-share-handler"

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per stand-in request drowns the output
_policy_lock = threading.Lock()  # Lambda serialises writes to one policy


class _StatementExists(LambdaClientError):
    code = 409

    def __init__(self, statement_id: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"The statement id ({statement_id}) provided already exists. Please provide a new statement id, "
            "or remove the existing statement.",
        )


def _revision_check(policy: Any, revision_id: str) -> None:
    if revision_id and revision_id != policy.revision:
        raise PreconditionFailedException("The RevisionId provided does not match the latest RevisionId.")


def _statement(layer_version: Any, body: dict[str, Any]) -> dict[str, Any]:
    principal = body["Principal"]
    account = re.fullmatch(r"(\d{12})|arn:aws[a-zA-Z-]*:iam::(\d{12}):root", principal)
    statement = {
        "Sid": body["StatementId"],
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account[1] or account[2]}:root"} if account else principal,
        "Action": body["Action"],
        "Resource": layer_version.arn,
    }
    if body.get("OrganizationId"):
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": body["OrganizationId"]}}
    return statement


def _add_layer_version_permission(self: LambdaResponse) -> tuple[int, dict, str]:
    layer_version = self.backend.get_layer_version(self._get_param("LayerName"), self._get_param("VersionNumber"))
    body = json.loads(self.body)
    policy = layer_version.policy
    with _policy_lock:
        _revision_check(policy, self.querystring.get("RevisionId", [""])[0])
        if any(existing.get("Sid") == body["StatementId"] for existing in policy.statements):
            raise _StatementExists(body["StatementId"])
        statement = _statement(layer_version, body)
        policy.statements.append(statement)
        policy.revision = str(uuid.uuid4())
        return 201, {"status": 201}, json.dumps({"Statement": json.dumps(statement), "RevisionId": policy.revision})


def _remove_layer_version_permission(self: LambdaResponse) -> tuple[int, dict, str]:
    layer_version = self.backend.get_layer_version(self._get_param("LayerName"), self._get_param("VersionNumber"))
    statement_id = self.path.split("/")[-1].split("?")[0]
    policy = layer_version.policy
    with _policy_lock:
        _revision_check(policy, self.querystring.get("RevisionId", [""])[0])
        remaining = [existing for existing in policy.statements if existing.get("Sid") != statement_id]
        if len(remaining) == len(policy.statements):
            raise GenericResourcNotFound()
        policy.statements[:] = remaining
        policy.revision = str(uuid.uuid4())
    return 204, {"status": 204}, ""


def _list_layer_versions(self: LambdaResponse) -> str:
    # Lambda takes a layer's name or its ARN here; moto 5.2.5 matches only a name, so an ARN lists nothing.
    layer_name = self._get_param("LayerName") or unquote(self.path.rsplit("/", 2)[-2])
    layer_versions = self.backend.list_layer_versions(layer_name.rsplit(":", 1)[-1])
    ordered = sorted(layer_versions, key=lambda layer_version: layer_version.version, reverse=True)
    return json.dumps({"LayerVersions": [layer_version.get_layer_version() for layer_version in ordered]})


LambdaResponse.add_layer_version_permission = _add_layer_version_permission
LambdaResponse.list_layer_versions = _list_layer_versions
LambdaResponse.remove_layer_version_permission = _remove_layer_version_permission


def publish_layer(lambda_api: Any, name: str) -> str:
    """Publish one version of a tiny layer and return its version ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr("python/demo.py", "VALUE = 1\n")
    return lambda_api.publish_layer_version(LayerName=name, Content={"ZipFile": archive.getvalue()})["LayerVersionArn"]


def policy_statements(lambda_api: Any, layer_version_arn: str) -> dict[str, dict]:
    """The layer version's statements by Sid, as Lambda returns them; empty when there is no policy."""
    layer_arn, version = layer_version_arn.rsplit(":", 1)
    try:
        policy = lambda_api.get_layer_version_policy(LayerName=layer_arn, VersionNumber=int(version))
    except lambda_api.exceptions.ResourceNotFoundException:
        return {}
    return {statement["Sid"]: statement for statement in json.loads(policy["Policy"])["Statement"]}


def account_statement(layer_version_arn: str, statement_id: str, account: str) -> dict[str, Any]:
    """The statement Lambda stores for a grant to one account."""
    return {
        "Sid": statement_id,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": layer_version_arn,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LambdaStandIn:
    """A moto server with faithful layer policies; point boto3 at it with AWS_ENDPOINT_URL_LAMBDA."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> LambdaStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        """What a process needs to talk to this stand-in instead of AWS."""
        return {
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }


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
