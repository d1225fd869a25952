"""Shared parts of the handler tests: a fake clock and stubbed Lambda clients for the unit tests, and what the
handler's Lambda client puts on the wire, counted per operation, for the call-count tests."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layer_share_cli.emulator.standin import LambdaStandIn
from layer_share_handler.budget import TIMER_MARGIN, Budget
from layer_share_handler.entry import cloudformation_client, lambda_client
from tests.standins import REGION


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


def stubbed_client() -> tuple:
    client = boto3.client("lambda", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
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
