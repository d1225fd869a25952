"""moto made faithful to Lambda's layer version policies, served on 127.0.0.1 in a process of its own.

moto 5.2.5 accepts a duplicate StatementId, ignores RevisionId, stores principals as they were sent, answers
a missing policy with a generic message, and lists no versions of a layer named by its ARN. `make_faithful()`,
called when the server starts, replaces those calls with what Lambda documents: a duplicate StatementId is a
ResourceConflict, RevisionId is honoured on add and on remove, statements are stored in Lambda's shape (written
by the handler's own GrantStatement), a layer version without a policy says so, and a layer's versions are
listed by its name or its ARN.

CloudFormation's `DescribeStackResource` answers from a record that the caller keeps up to date, phase by phase,
as CloudFormation's own record reads while it sends each event (the reference's cloudformation-phases.md):
stacks are played, not created in moto.

    python -m layer_share_cli.emulator.faithful_moto PORT  # prints "ready", then reads records from stdin
    layer-share standin --port PORT                        # for users: serves until Ctrl-C
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import GenericResourcNotFound, LambdaClientError, PreconditionFailedException
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult
from moto.server import ThreadedMotoServer

from layer_share_handler.physical_id import LayerVersion, parse_layer_version_arn
from layer_share_handler.statement import GrantStatement, account_or_star

from ..policies import NO_POLICY

_policy_lock = threading.Lock()  # Lambda serialises writes to one policy


class _NoPolicy(LambdaClientError):
    code = 404

    def __init__(self) -> None:
        super().__init__("ResourceNotFoundException", NO_POLICY)


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


def _add_layer_version_permission(self: LambdaResponse) -> tuple[int, dict[str, Any], str]:
    layer_version = self.backend.get_layer_version(self._get_param("LayerName"), self._get_param("VersionNumber"))
    body = json.loads(self.body)
    policy = layer_version.policy
    granted = GrantStatement(
        body["StatementId"], account_or_star(body["Principal"]), body.get("OrganizationId"), body["Action"]
    )
    with _policy_lock:
        _revision_check(policy, self.querystring.get("RevisionId", [""])[0])
        if any(existing.get("Sid") == granted.statement_id for existing in policy.statements):
            raise _StatementExists(granted.statement_id)
        statement = granted.policy_statement(_layer_version(layer_version.arn))
        policy.statements.append(statement)
        policy.revision = str(uuid.uuid4())
        return 201, {"status": 201}, json.dumps({"Statement": json.dumps(statement), "RevisionId": policy.revision})


def _get_layer_version_policy(self: LambdaResponse) -> str:
    layer_version = self.backend.get_layer_version(self._get_param("LayerName"), self._get_param("VersionNumber"))
    if not layer_version.policy.statements:
        raise _NoPolicy()
    wire_format: str = layer_version.policy.wire_format()
    return wire_format


def _remove_layer_version_permission(self: LambdaResponse) -> tuple[int, dict[str, Any], str]:
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
    # Lambda takes a layer's name or its ARN here; moto 5.2.5 matches only a name, so an ARN listed nothing.
    layer_name = unquote(self.path.rsplit("/", 2)[-2]).rsplit(":", 1)[-1]
    ordered = sorted(self.backend.list_layer_versions(layer_name), key=lambda version: version.version, reverse=True)
    return json.dumps({"LayerVersions": [version.get_layer_version() for version in ordered]})


# What DescribeStackResource answers, by StackId and LogicalResourceId; None: the resource no longer exists.
_stack_records: dict[tuple[str, str], dict[str, str] | None] = {}


def _describe_stack_resource(self: CloudFormationResponse) -> ActionResult:
    stack_id, logical_id = self._get_param("StackName"), self._get_param("LogicalResourceId")
    if not any(stack == stack_id for stack, _ in _stack_records):
        raise ValidationError(message=f"Stack '{stack_id}' does not exist")
    record = _stack_records.get((stack_id, logical_id))
    if record is None:
        raise ValidationError(message=f"Resource {logical_id} does not exist for stack {stack_id}")
    detail = {
        "StackId": stack_id,
        "StackName": stack_id.split("/")[1],
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::LayerVersionPermission",
        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
        **record,
    }
    return ActionResult({"StackResourceDetail": detail})


def _apply_record(line: str) -> None:
    """One record from the parent: `{"StackId", "LogicalResourceId", "Resource": {...} or null}`."""
    record = json.loads(line)
    _stack_records[(record["StackId"], record["LogicalResourceId"])] = record["Resource"]


def _layer_version(arn: str) -> LayerVersion:
    parsed = parse_layer_version_arn(arn)
    if parsed is None:
        raise ValueError(f"moto returned a layer version ARN of another shape: {arn!r}")
    return parsed


def make_faithful() -> None:
    """Replace moto's layer policy calls with Lambda's behaviour; every stand-in calls this when it starts."""
    for name, call in (
        ("add_layer_version_permission", _add_layer_version_permission),
        ("remove_layer_version_permission", _remove_layer_version_permission),
        ("get_layer_version_policy", _get_layer_version_policy),
        ("list_layer_versions", _list_layer_versions),
    ):
        setattr(LambdaResponse, name, call)
    CloudFormationResponse.describe_stack_resource = _describe_stack_resource  # type: ignore[method-assign]


def start_server(port: int, host: str = "127.0.0.1") -> ThreadedMotoServer:
    """A faithful moto server on `host`:`port`, started."""
    make_faithful()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the output
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def serve(port: int) -> None:
    """Serve until stdin closes; one process per stand-in keeps each stand-in's accounts apart. Each line read
    is a CloudFormation record, acknowledged with "ok" once it applies."""
    server = start_server(port)
    print("ready", flush=True)
    for line in sys.stdin:
        _apply_record(line)
        print("ok", flush=True)
    server.stop()


def serve_until_interrupted(port: int, host: str) -> None:
    """`layer-share standin`: serve for users' own tests and `verify --endpoint-url` until Ctrl-C."""
    server = start_server(port, host)
    print(
        f"Faithful Lambda stand-in on http://{host}:{port} (moto {version('moto')}); any keys act in moto's "
        "account 123456789012. Ctrl-C stops it.",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
