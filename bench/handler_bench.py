"""Handler cost per event at Lambda's CPU share: this handler against the crhelper-default baseline, interleaved.

Each handler runs in its own worker process (lambda_worker.py) inside a CPU quota equal to Lambda's share at
the memory size measured. A fresh worker answers one Create: its first response, from process start, is the
cold start. The same worker then answers whole lifecycles: those are the warm events. Lambda is the stand-in
in another process and CloudFormation's ResponseURL a receiver in this one, both outside the quota.

Events reach a worker with a gap between them, as CloudFormation sends them: it reads each response from the
ResponseURL's S3 object and then proceeds with the stack operation (the custom resource request and response
reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html), so a function's next
event never follows its previous answer at once. The gap is what lets the quota refill: sent back to back, an event
starts in a quota period that the previous event's tail has spent and waits for the next one, a wait Lambda's
users never see. A gap longer than the quota's period is enough (longer ones measured alike when tried);
`--event-gap` changes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu_quota import PERIOD_US, CpuQuota, cpu_quota
from bench.lambda_layers import grant_properties, new_layer_version
from layer_share_cli.emulator.receiver import ResponseReceiver
from tests.cfn_protocol import cfn_event
from tests.standins import FUNCTION_ARN, policy_statements

REPO_ROOT = Path(__file__).resolve().parent.parent
OURS = "this handler"
CRHELPER_DEFAULT = "crhelper defaults"
VARIANTS = (OURS, CRHELPER_DEFAULT)
# The construct's function timeout. crhelper's default sleeps on Delete only with more than 135 s left.
FUNCTION_TIMEOUT = 60.0
# Seconds between a worker's answer and its next event: a few quota periods, the least CloudFormation leaves.
EVENT_GAP_SECONDS = 3 * PERIOD_US / 1_000_000
PARTNER, OTHER_PARTNER = "223456789012", "334567890123"
STEPS = (
    "Create",
    "Update (no change)",
    "Update (in place)",
    "Update (replace)",
    "Delete (cleanup after replace)",
    "Delete",
)
WRITES = ("AddLayerVersionPermission", "RemoveLayerVersionPermission")
READS = ("GetLayerVersionPolicy",)
# The fewest requests each step can make without retention, as (writes, reads), for exact ownership
# (docs/lifecycle.md): every Update reads the version it grants, so that a deploy repairs drift; a Delete removes
# in one call while the policy is at the RevisionId its grant left, and here an earlier Update has moved it on, so
# the remove is refused, a read shows the statement is the grant's, and a second remove takes it.
LIMITS = {
    "Create": (1, 0),
    "Update (no change)": (0, 1),
    "Update (in place)": (2, 1),
    "Update (replace)": (1, 1),
    "Delete (cleanup after replace)": (2, 1),
    "Delete": (2, 1),
}


@dataclass(frozen=True)
class EventSample:
    variant: str
    memory_mb: int
    round: int  # the cold-start round whose worker answered it
    step: str
    seconds: float
    cpu_seconds: float
    requests: dict[str, int]
    status: str


@dataclass(frozen=True)
class ColdStart:
    variant: str
    memory_mb: int
    round: int
    first_response_seconds: float  # from the worker's process start until its first response was delivered
    cpu_seconds: float  # the worker's CPU time until then
    status: str


@dataclass
class HandlerResults:
    event_gap_seconds: float = EVENT_GAP_SECONDS
    quotas: list[dict[str, Any]] = field(default_factory=list)
    ca_certificates: int = 0
    cold_starts: list[ColdStart] = field(default_factory=list)
    events: list[EventSample] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


class Worker:
    """A running lambda_worker.py process: one execution environment, sent an event at most every `gap` seconds."""

    def __init__(self, variant: str, quota: CpuQuota, environment: dict[str, str], gap: float) -> None:
        self.variant, self.memory_mb = variant, quota.memory_mb
        self._gap, self._next_event_at = gap, 0.0
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the worker's life, closed in stop()
        self.started = time.monotonic()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.lambda_worker", variant, FUNCTION_ARN],
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            preexec_fn=quota.enter(),
        )

    def answer(self, event: dict[str, Any], timeout: float = FUNCTION_TIMEOUT) -> dict[str, Any]:
        assert self._process.stdin and self._process.stdout
        time.sleep(max(0.0, self._next_event_at - time.monotonic()))
        self._process.stdin.write(json.dumps({"event": event, "timeout": timeout}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"{self.variant} worker died: {self._stderr.read().decode()[-2000:]}")
        self._next_event_at = time.monotonic() + self._gap
        return dict(json.loads(line))

    def stop(self) -> None:
        assert self._process.stdin
        self._process.stdin.close()
        self._process.wait(timeout=60)
        self._stderr.close()


class Lifecycle:
    """The events of one grant's life, sent to one worker, each answered once at its ResponseURL."""

    def __init__(self, worker: Worker, receiver: ResponseReceiver, api: Any, round_number: int) -> None:
        self._worker, self._receiver, self._round = worker, receiver, round_number
        self.layer_version_arn = new_layer_version(api)

    def send(self, step: str, properties: dict[str, str], **fields: Any) -> tuple[EventSample, dict[str, Any]]:
        name = uuid.uuid4().hex
        event = cfn_event(step.split(" ")[0], "SharePartner", properties, self._receiver.url(name), **fields)
        measured = self._worker.answer(event)
        responses = self._receiver.responses_for(name)
        body = responses[0].body if len(responses) == 1 else {}
        status = body.get("Status", f"{len(responses)} responses")
        sample = EventSample(
            self._worker.variant,
            self._worker.memory_mb,
            self._round,
            step,
            measured["seconds"],
            measured["cpu_seconds"],
            measured["requests"],
            status,
        )
        return sample, {
            **body,
            "finished": measured["finished"],
            "process_cpu_seconds": measured["process_cpu_seconds"],
        }

    def run(self, created: dict[str, Any] | None = None) -> list[EventSample]:
        """Every step after `created` (a Create already answered), or from the Create on."""
        first = grant_properties(self.layer_version_arn, "bench-a", PARTNER)
        samples = []
        if created is None:
            sample, created = self.send("Create", first)
            samples.append(sample)
        same = {**first, "ServiceTimeout": "600"}
        changed = grant_properties(self.layer_version_arn, "bench-a", OTHER_PARTNER)
        replaced = grant_properties(self.layer_version_arn, "bench-b", OTHER_PARTNER)
        steps = [
            ("Update (no change)", same, {"old_properties": first}),
            ("Update (in place)", changed, {"old_properties": same}),
            ("Update (replace)", replaced, {"old_properties": changed}),
        ]
        physical_id = created["PhysicalResourceId"]
        for step, properties, fields in steps:
            sample, body = self.send(step, properties, physical_id=physical_id, **fields)
            samples.append(sample)
            physical_id = body.get("PhysicalResourceId", physical_id)
        samples.append(
            self.send("Delete (cleanup after replace)", changed, physical_id=created["PhysicalResourceId"])[0]
        )
        samples.append(self.send("Delete", replaced, physical_id=physical_id)[0])
        return samples


@contextmanager
def system_ca_bundle(receiver: ResponseReceiver) -> Iterator[tuple[str, int]]:
    """The system's CA bundle plus the receiver's CA, as SSL_CERT_FILE: every handler loads the whole bundle,
    as on Lambda. Yields the file and its number of certificates."""
    import ssl

    paths = ssl.get_default_verify_paths()
    system = Path(paths.openssl_cafile)  # the system bundle, not SSL_CERT_FILE
    bundle = system.read_text() + "\n" + Path(receiver.ca_file).read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as file:
        file.write(bundle)
        file.flush()
        yield file.name, bundle.count("BEGIN CERTIFICATE")


def run(
    memory_sizes: tuple[int, ...],
    cold_starts: int,
    warm_lifecycles: int,
    receiver: ResponseReceiver,
    api: Any,
    progress: Callable[[str], None],
    gap: float = EVENT_GAP_SECONDS,
) -> HandlerResults:
    """For each memory size: `cold_starts` rounds, each starting a fresh worker per variant (in rotating order)
    that answers a cold Create, finishes that lifecycle untimed, then `warm_lifecycles` timed lifecycles, its
    events `gap` seconds apart."""
    results = HandlerResults(event_gap_seconds=gap)
    with system_ca_bundle(receiver) as (bundle, certificates):
        results.ca_certificates = certificates
        for memory_mb in memory_sizes:
            environment = {**os.environ, "SSL_CERT_FILE": bundle, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
            with cpu_quota(memory_mb) as quota:
                results.quotas.append(asdict(quota))
                for round_number in range(cold_starts):
                    progress(f"{memory_mb} MB: round {round_number + 1}/{cold_starts}")
                    for variant in _rotated(VARIANTS, round_number):
                        worker = Worker(variant, quota, environment, gap)
                        _one_environment(worker, round_number, receiver, api, warm_lifecycles, results)
    problems = [
        f"{sample.variant} at {sample.memory_mb} MB: {sample.step} answered {sample.status}"
        for sample in [*results.events, *results.cold_starts]
        if sample.status != "SUCCESS"
    ]
    if problems:
        raise AssertionError("Not every event succeeded: " + "; ".join(problems[:5]))
    return results


def _one_environment(
    worker: Worker,
    round_number: int,
    receiver: ResponseReceiver,
    api: Any,
    warm_lifecycles: int,
    results: HandlerResults,
) -> None:
    variant, memory_mb = worker.variant, worker.memory_mb
    try:
        lifecycle = Lifecycle(worker, receiver, api, round_number)
        sample, created = lifecycle.send("Create", grant_properties(lifecycle.layer_version_arn, "bench-a", PARTNER))
        results.cold_starts.append(
            ColdStart(
                variant,
                memory_mb,
                round_number,
                created["finished"] - worker.started,
                created["process_cpu_seconds"],
                sample.status,
            )
        )
        lifecycle.run(created)  # the rest of the first lifecycle still meets first-use costs: not timed
        for _ in range(warm_lifecycles):
            warm = Lifecycle(worker, receiver, api, round_number)
            results.events.extend(warm.run())
            if policy_statements(api, warm.layer_version_arn):
                raise AssertionError(f"{variant} left statements behind on {warm.layer_version_arn}")
    finally:
        worker.stop()


def _rotated(items: tuple[str, ...], turn: int) -> tuple[str, ...]:
    """Alternate which variant goes first, so that neither always runs right after the other."""
    shift = turn % len(items)
    return items[shift:] + items[:shift]
