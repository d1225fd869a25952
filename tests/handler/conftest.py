"""Shared parts of the handler tests: a fake clock and stubbed Lambda clients for the unit tests, and what the
handler's Lambda client puts on the wire, counted per operation, for the call-count tests."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from layer_share_cli.emulator.standin import LambdaStandIn
from layer_share_handler.budget import TIMER_MARGIN, Budget
from layer_share_handler.entry import cloudformation_client, lambda_client
from tests.handler.grant_resource import GrantResource, grant_properties
from tests.standins import REGION, publish_layer


class WireCount:
    """Requests sent by the handler's Lambda and CloudFormation clients, by operation: botocore's before-send fires
    once per HTTP request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()

    def on_send(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def take(self) -> Counter[str]:
        """The requests since the last take."""
        with self._lock:
            taken, self.requests = self.requests, Counter()
        return taken


@pytest.fixture
def wire(lambda_standin: LambdaStandIn) -> Iterator[WireCount]:
    count = WireCount()
    clients = {"lambda": lambda_client(REGION), "cloudformation": cloudformation_client(REGION)}
    for service, client in clients.items():
        client.meta.events.register(f"before-send.{service}", count.on_send, unique_id="tests-wire-count")
    yield count
    for service, client in clients.items():
        client.meta.events.unregister(f"before-send.{service}", unique_id="tests-wire-count")


class FakeTime:
    """A clock that only moves when the code under test sleeps, so retries take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def budget(self, seconds: float) -> Budget:
        """A budget with `seconds` for calls: Lambda's remaining time counts down on this clock."""
        ends = self.now + seconds + TIMER_MARGIN
        return Budget(lambda: ends - self.now, delivery=0.0, sleep=self.sleep)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def deadline(fake_time: FakeTime) -> Budget:
    return fake_time.budget(30)


def stubbed_client(service: str = "lambda") -> tuple:
    client = boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


@pytest.fixture
def stubbed():
    client, stubber = stubbed_client()
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def endless():
    """A stubbed client with more answers queued than the deadline lets the code use."""
    client, stubber = stubbed_client()
    with stubber:
        yield client, stubber


class Throttle:
    """Lambda answering 429 to one operation of the handler's client after the first `allowed` calls, until
    lifted: botocore's before-call hook answers in Lambda's place."""

    def __init__(self, events: Any, operation: str, allowed: int) -> None:
        self._events, self._name = events, f"before-call.lambda.{operation}"
        self._unique_id = f"tests-throttle-{uuid.uuid4().hex}"
        self.allowed = allowed
        events.register(self._name, self._answer, unique_id=self._unique_id)

    def _answer(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.allowed > 0:
            self.allowed -= 1
            return None
        error = {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}
        return AWSResponse("", 429, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}

    def lift(self) -> None:
        self._events.unregister(self._name, unique_id=self._unique_id)


@pytest.fixture
def throttle(lambda_standin: LambdaStandIn) -> Iterator[Callable[[str, int], Throttle]]:
    """Throttle an operation of the handler's Lambda client after some calls; lifted at the latest with the test."""
    made: list[Throttle] = []

    def start(operation: str, allowed: int) -> Throttle:
        made.append(Throttle(lambda_client(REGION).meta.events, operation, allowed))
        return made[-1]

    yield start
    for throttled in made:
        throttled.lift()


@pytest.fixture
def stubbed_cloudformation():
    """A stubbed CloudFormation client, for the Delete's question to the stack's record."""
    client, stubber = stubbed_client("cloudformation")
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def endless_cloudformation():
    """A stubbed CloudFormation client with more answers queued than the deadline lets the code use."""
    client, stubber = stubbed_client("cloudformation")
    with stubber:
        yield client, stubber


@pytest.fixture
def versions(lambda_api: Any, layer_name: str) -> list[str]:
    """Five published versions of one layer; versions[0] is version 1."""
    return [publish_layer(lambda_api, layer_name) for _ in range(5)]


@pytest.fixture
def new_grant(invoke: Any, receiver: Any) -> Callable[..., GrantResource]:
    """A grant resource on a version, with retention; it revokes what it kept when deleted unless told not to."""

    def make(
        version_arn: str, keep_versions: str | None = None, revoke_retained: str = "true", **extra: str
    ) -> GrantResource:
        properties = grant_properties(
            version_arn,
            RevokeRetainedOnDelete=revoke_retained,
            **({"KeepVersions": keep_versions} if keep_versions is not None else {}),
            **extra,
        )
        return GrantResource(invoke, receiver, properties)

    return make
