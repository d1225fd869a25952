"""Handler cost per event, this handler against the crhelper-default baseline, interleaved in one run.

Both handlers run in this process against the Lambda stand-in (a moto server in a child process)
and answer to an HTTPS receiver here. Lambda requests are counted with botocore's before-send event;
sleeps with a profile hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.lambda_layers import grant_properties, new_layer_version
from bench.measure import LambdaRequests, sleeps_recorded
from layer_share_cli.receiver import ResponseReceiver
from tests.cfn_protocol import LambdaContext, cfn_event
from tests.standins import FUNCTION_ARN, REGION, policy_statements

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS = "this handler"
CRHELPER_DEFAULT = "crhelper defaults"
# A typical custom resource function timeout. crhelper sleeps on Delete whenever more than
# sleep_on_delete + 15 s remain, so any timeout of 136 s or more shows the full 120 s.
FUNCTION_TIMEOUT = 300.0
# Enough for the work, too little for crhelper's sleep: lets the repeated Deletes measure the work alone.
SHORT_TIMEOUT = 60.0
PARTNER, OTHER_PARTNER = "223456789012", "334567890123"
STEPS = ("Create", "Update (in place)", "Update (replace)", "Delete (cleanup after replace)", "Delete")

# Runs in a fresh interpreter: time the import (and client building), then one first event end to end.
# It defines its own Lambda context, because importing the benchmark's tools would preload boto3 and moto.
_COLD_START = """
import time
started = time.perf_counter()
import importlib, json, os, sys
module = importlib.import_module(sys.argv[1])
if sys.argv[2]:
    getattr(module, sys.argv[2])(os.environ["AWS_REGION"])
ready = time.perf_counter()

class Context:
    invoked_function_arn = sys.argv[4]
    function_name = invoked_function_arn.rsplit(":", 1)[-1]
    aws_request_id = "cold-start"
    memory_limit_in_mb = 128
    ends = time.monotonic() + float(sys.argv[5])

    def get_remaining_time_in_millis(self):
        return int((self.ends - time.monotonic()) * 1000)

module.handler(json.loads(sys.argv[3]), Context())
print(json.dumps({"ready": ready - started, "first_event": time.perf_counter() - started}))
"""


@dataclass(frozen=True)
class Variant:
    """One handler under test: its entry point, the client whose requests are counted, and how it is built cold."""

    name: str
    handler: Callable[[Any, Any], None]
    requests: LambdaRequests
    module: str
    builder: str  # a module function that builds the client before the first event ("" when import does it)
    repeated_delete_timeout: float


@dataclass(frozen=True)
class EventSample:
    latency: float
    requests: Counter[str]
    status: str
    physical_id: str
    sleeps: tuple[float, ...]  # recorded only on the profiled pass, which is not timed


@dataclass
class HandlerResults:
    cold_start: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    events: dict[str, dict[str, list[EventSample]]] = field(default_factory=dict)
    # The warm-up pass, profiled for sleeps (the profile hook slows the code, so it is not timed).
    warm_up: dict[str, dict[str, EventSample]] = field(default_factory=dict)
    stack_delete: dict[str, EventSample] = field(default_factory=dict)
    crhelper_construction: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def variants() -> list[Variant]:
    """This handler and the baseline, imported only now: the baseline builds its clients at import, from the
    environment. Call once per process: each call counts requests anew."""
    from bench import crhelper_default_handler
    from layer_share_handler import entry

    return [
        Variant(
            OURS,
            entry.handler,
            LambdaRequests(entry.lambda_client(REGION)),
            entry.__name__,
            entry.lambda_client.__name__,
            FUNCTION_TIMEOUT,
        ),
        Variant(
            CRHELPER_DEFAULT,
            crhelper_default_handler.handler,
            LambdaRequests(crhelper_default_handler.lambda_api),
            crhelper_default_handler.__name__,
            "",
            SHORT_TIMEOUT,
        ),
    ]


def send(
    variant: Variant,
    receiver: ResponseReceiver,
    record_sleeps: bool,
    request_type: str,
    properties: dict[str, str],
    timeout_seconds: float = FUNCTION_TIMEOUT,
    **fields: Any,
) -> EventSample:
    """Deliver one complete event and time it until the handler returns, its response delivered."""
    name = uuid.uuid4().hex
    event = cfn_event(request_type, "SharePartner", properties, receiver.url(name), **fields)
    context = LambdaContext(timeout_seconds=timeout_seconds)
    variant.requests.take()
    with sleeps_recorded(record_sleeps) as sleeps:
        started = time.perf_counter()
        variant.handler(event, context)
        latency = time.perf_counter() - started
    responses = receiver.responses_for(name)
    status = responses[0].body["Status"] if len(responses) == 1 else f"{len(responses)} responses"
    physical_id = responses[0].body.get("PhysicalResourceId", "") if responses else ""
    return EventSample(latency, variant.requests.take(), status, physical_id, tuple(sleeps))


def lifecycle(variant: Variant, receiver: ResponseReceiver, api: Any, record_sleeps: bool) -> dict[str, EventSample]:
    """Create, update in place, update with a new StatementId (then CloudFormation's cleanup Delete), delete."""
    layer_version_arn = new_layer_version(api)
    first = grant_properties(layer_version_arn, "bench-a", PARTNER)
    changed = grant_properties(layer_version_arn, "bench-a", OTHER_PARTNER)
    replaced = grant_properties(layer_version_arn, "bench-b", OTHER_PARTNER)

    def event(request_type: str, properties: dict[str, str], **fields: Any) -> EventSample:
        timeout = variant.repeated_delete_timeout if request_type == "Delete" else FUNCTION_TIMEOUT
        return send(variant, receiver, record_sleeps, request_type, properties, timeout, **fields)

    created = event("Create", first)
    updated = event("Update", changed, physical_id=created.physical_id, old_properties=first)
    replacement = event("Update", replaced, physical_id=updated.physical_id, old_properties=changed)
    samples = {
        "Create": created,
        "Update (in place)": updated,
        "Update (replace)": replacement,
        "Delete (cleanup after replace)": event("Delete", changed, physical_id=updated.physical_id),
        "Delete": event("Delete", replaced, physical_id=replacement.physical_id),
    }
    left = policy_statements(api, layer_version_arn)
    if left:
        raise AssertionError(f"{variant.name} left statements behind: {sorted(left)}")
    return samples


def cold_start(variant: Variant, receiver: ResponseReceiver, layer_version_arn: str) -> dict[str, float]:
    """A fresh interpreter: import and build, then one Create end to end; plus the whole process's wall time."""
    name = uuid.uuid4().hex
    event = cfn_event(
        "Create", "SharePartner", grant_properties(layer_version_arn, f"cold-{name[:12]}", PARTNER), receiver.url(name)
    )
    started = time.perf_counter()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            _COLD_START,
            variant.module,
            variant.builder,
            json.dumps(event),
            FUNCTION_ARN,
            str(FUNCTION_TIMEOUT),
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    responses = receiver.responses_for(name)
    if len(responses) != 1 or responses[0].body["Status"] != "SUCCESS":
        raise AssertionError(f"{variant.name} cold start answered {[r.body for r in responses]}: {child.stderr}")
    timings = json.loads(child.stdout.strip().splitlines()[-1])
    return {
        "import and build": timings["ready"],
        "first event, from start": timings["first_event"],
        "process wall time": wall,
    }


def bare_interpreter() -> float:
    """The floor every cold start pays: a fresh interpreter that imports nothing."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def crhelper_construction() -> float:
    """What building a CfnResource costs, as this handler does for every event: crhelper creates lambda, events
    and logs clients in its constructor unless AWS_SAM_LOCAL is set."""
    from crhelper import CfnResource

    started = time.perf_counter()
    CfnResource(log_level="INFO", sleep_on_delete=0)
    return time.perf_counter() - started


def run(
    handlers: list[Variant],
    receiver: ResponseReceiver,
    api: Any,
    repetitions: int,
    cold_starts: int,
    stack_delete: bool,
    progress: Callable[[str], None],
) -> HandlerResults:
    results = HandlerResults()
    cold_layer = new_layer_version(api)
    results.cold_start["bare interpreter"] = {"process wall time": []}
    for variant in handlers:
        results.cold_start[variant.name] = {}
        results.events[variant.name] = {step: [] for step in STEPS}
    for round_number in range(cold_starts):
        progress(f"cold start {round_number + 1}/{cold_starts}")
        results.cold_start["bare interpreter"]["process wall time"].append(bare_interpreter())
        for variant in _rotated(handlers, round_number):
            for metric, value in cold_start(variant, receiver, cold_layer).items():
                results.cold_start[variant.name].setdefault(metric, []).append(value)

    for variant in handlers:
        results.warm_up[variant.name] = lifecycle(variant, receiver, api, record_sleeps=True)
    crhelper_construction()  # the first one loads the events and logs service models: a cold-start cost
    for repetition in range(repetitions):
        progress(f"events {repetition + 1}/{repetitions}")
        for variant in _rotated(handlers, repetition):
            for step, sample in lifecycle(variant, receiver, api, record_sleeps=False).items():
                results.events[variant.name][step].append(sample)
        results.crhelper_construction.append(crhelper_construction())

    if stack_delete:
        for variant in handlers:
            progress(f"a stack deletion with {variant.name} (the baseline sleeps for real)")
            results.stack_delete[variant.name] = _stack_delete(variant, receiver, api)
    everything = [
        *(
            (variant, step, sample)
            for variant, steps in results.events.items()
            for step, samples in steps.items()
            for sample in samples
        ),
        *((variant, step, sample) for variant, steps in results.warm_up.items() for step, sample in steps.items()),
        *((variant, "stack deletion", sample) for variant, sample in results.stack_delete.items()),
    ]
    results.problems = [
        f"{variant}: {step} answered {sample.status}"
        for variant, step, sample in everything
        if sample.status != "SUCCESS"
    ]
    return results


def _stack_delete(variant: Variant, receiver: ResponseReceiver, api: Any) -> EventSample:
    """Create, then the Delete a stack deletion sends, with the full function timeout left."""
    properties = grant_properties(new_layer_version(api), "bench-stack", PARTNER)
    created = send(variant, receiver, False, "Create", properties)
    return send(variant, receiver, True, "Delete", properties, FUNCTION_TIMEOUT, physical_id=created.physical_id)


def _rotated(items: list[Variant], turn: int) -> list[Variant]:
    """Alternate which variant goes first, so that neither always runs right after the other."""
    shift = turn % len(items)
    return items[shift:] + items[:shift]
