"""Shared real parts: a Lambda stand-in (moto server over HTTP) and an HTTPS ResponseURL receiver."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layer_share_cli.emulator.cloudformation import record_for_event
from layer_share_cli.emulator.receiver import ReceivedResponse, ResponseReceiver
from layer_share_cli.emulator.standin import LambdaStandIn
from layer_share_handler.entry import handler
from layer_share_handler.rules import event_problem
from tests.cfn_protocol import LambdaContext
from tests.standins import ACCOUNT, REGION, publish_layer


@pytest.fixture(scope="session")
def lambda_standin() -> Iterator[LambdaStandIn]:
    standin = LambdaStandIn().start()
    saved = dict(os.environ)
    # The handler runs in this process, so it reads its endpoint and keys from this process's environment.
    os.environ.update(standin.handler_environment(ACCOUNT, REGION))
    yield standin
    os.environ.clear()
    os.environ.update(saved)
    standin.stop()


@pytest.fixture(scope="session")
def _receiver() -> Iterator[ResponseReceiver]:
    receiver = ResponseReceiver().start()
    saved = os.environ.get("SSL_CERT_FILE")
    # The handler verifies the ResponseURL's certificate, as it must against CloudFormation.
    os.environ["SSL_CERT_FILE"] = receiver.ca_file
    yield receiver
    if saved is None:
        os.environ.pop("SSL_CERT_FILE", None)
    else:
        os.environ["SSL_CERT_FILE"] = saved
    receiver.stop()


@pytest.fixture
def receiver(_receiver: ResponseReceiver) -> Iterator[ResponseReceiver]:
    _receiver.reset()
    yield _receiver
    _receiver.reset()


@pytest.fixture
def lambda_api(lambda_standin: LambdaStandIn) -> Any:
    """A plain client for arranging and inspecting the stand-in, separate from the handler's own; its keys are
    explicit, so no test's credentials in the environment can move it to another account."""
    return lambda_standin.client("lambda", ACCOUNT, REGION)


@pytest.fixture
def layer_name() -> str:
    return f"shared-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def layer_v1(lambda_api: Any, layer_name: str) -> str:
    return publish_layer(lambda_api, layer_name)


@pytest.fixture
def invoke(lambda_standin: LambdaStandIn, receiver: ResponseReceiver) -> Callable[..., list[ReceivedResponse]]:
    """Run the real entry point on one event and return what reached that event's ResponseURL.

    CloudFormation's record reads as it would while sending the event; `live` (the ID and properties of the copy
    that stays) makes a Delete the cleanup of a replaced or rolled-back copy.
    """

    def run(
        event: dict[str, Any], timeout_seconds: float = 60.0, live: tuple[str, dict[str, str]] | None = None
    ) -> list[ReceivedResponse]:
        if event_problem(event) is None:
            record = record_for_event(event, live)
            lambda_standin.record_stack_resource(event["StackId"], event["LogicalResourceId"], record)
        handler(event, LambdaContext(timeout_seconds=timeout_seconds))
        name = event["ResponseURL"].split("?")[0].rsplit("/", 1)[-1]
        return receiver.responses_for(name)

    return run


# Whole directories that are slow by nature: the adversarial suite (faults, concurrency, fuzzing) and the bench's
# smoke run. Slow tests elsewhere carry @pytest.mark.slow themselves.
SLOW_DIRECTORIES = ("adversarial", "bench")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        if item.path.relative_to(tests_dir).parts[0] in SLOW_DIRECTORIES:
            item.add_marker(pytest.mark.slow)
