"""The embedded Lambda: a faithful moto server (faithful_moto.py) in a child process, and what talks to it.

Nothing here touches os.environ: callers get the endpoint, clients for any account and region, and the
environment a handler process needs.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import zipfile
from functools import cache
from typing import IO, Any

import boto3

from layer_share_handler.physical_id import LayerVersion

# What DescribeStackResource returns of a resource: PhysicalResourceId, ResourceStatus and Metadata (a JSON string).
StackResourceRecord = dict[str, str]


class StandInFailed(Exception):
    """The stand-in's server process did not start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LambdaStandIn:
    """A faithful moto server for Lambda, with an STS that hands out credentials for any account.

    Each stand-in is a process of its own: moto keeps its accounts in module globals, and its request
    handling then never competes for the GIL with the command.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        # One session, and one client per service, account and region: building a client reads its model anew.
        # Typed as Any: services are named at run time, which boto3's stubs cannot match to an overload.
        self._session: Any = boto3.session.Session()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._credentials: dict[str, dict[str, str]] = {}
        self._clients_lock = threading.RLock()  # building boto3 clients is not thread-safe
        self._records_lock = threading.Lock()

    def start(self) -> LambdaStandIn:
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", "layer_share_cli.emulator.faithful_moto", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._pipes()[1].readline().strip() != "ready":
            raise StandInFailed(f"the moto server process exited with code {self._process.wait()}")
        return self

    def stop(self) -> None:
        self._pipes()[0].close()
        self._process.wait(timeout=30)

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def record_stack_resource(self, stack_id: str, logical_id: str, resource: StackResourceRecord | None) -> None:
        """Set what DescribeStackResource answers for the resource; None: it no longer exists in the stack."""
        line = json.dumps({"StackId": stack_id, "LogicalResourceId": logical_id, "Resource": resource})
        stdin, stdout = self._pipes()
        with self._records_lock:
            stdin.write(line + "\n")
            stdin.flush()
            if stdout.readline().strip() != "ok":
                raise StandInFailed("the stand-in did not take the CloudFormation record")

    def credentials(self, account: str) -> dict[str, str]:
        """Keys that act in `account`: moto tells accounts apart by the access key of an assumed role."""
        with self._clients_lock:
            if account not in self._credentials:
                self._credentials[account] = self._assume_role(account)
            return self._credentials[account]

    def _assume_role(self, account: str) -> dict[str, str]:
        sts = self._session.client(
            "sts",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="layer-share-try",
            aws_secret_access_key="layer-share-try",
        )
        role = f"arn:aws:iam::{account}:role/layer-share-try"
        keys = sts.assume_role(RoleArn=role, RoleSessionName="layer-share-try")["Credentials"]
        return {
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        }

    def client(self, service: str, account: str, region: str) -> Any:
        """A client acting in `account` and `region` on this stand-in."""
        key = (service, account, region)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, endpoint_url=self.endpoint_url, region_name=region, **self.credentials(account)
                )
            return self._clients[key]

    def handler_environment(self, account: str, region: str) -> dict[str, str]:
        """The variables a handler process needs to act in `account` and `region` on this stand-in, as a
        function there would: Lambda's endpoint, the role's keys, the region."""
        keys = self.credentials(account)
        return {
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDFORMATION": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": keys["aws_session_token"],
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    def publish_layer_version(self, layer_version: LayerVersion) -> None:
        """Publish versions of the layer, in its own account and region, until `layer_version` exists."""
        client = self.client("lambda", layer_version.account, layer_version.region)
        versions = client.list_layer_versions(LayerName=layer_version.name)["LayerVersions"]
        published = max((version["Version"] for version in versions), default=0)
        while published < layer_version.version:
            published = client.publish_layer_version(LayerName=layer_version.name, Content={"ZipFile": _tiny_zip()})[
                "Version"
            ]

    def publish_layer(self, account: str, region: str, name: str, content: bytes) -> str:
        """Publish the next version of a layer with `content` (a zip file) and return its version ARN."""
        client = self.client("lambda", account, region)
        arn: str = client.publish_layer_version(LayerName=name, Content={"ZipFile": content})["LayerVersionArn"]
        return arn

    def delete_layer_version(self, layer_version: LayerVersion) -> None:
        client = self.client("lambda", layer_version.account, layer_version.region)
        client.delete_layer_version(LayerName=layer_version.name, VersionNumber=layer_version.version)


@cache
def _tiny_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr("python/layer_share_try.py", "VALUE = 1\n")
    return archive.getvalue()
