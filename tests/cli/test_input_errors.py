"""Malformed input ends in exit status 2 and one line on stderr naming what was wrong, never a traceback or a
hang; with --json, stdout is one JSON document with an `error`. Each case breaks one thing of a valid assembly,
or of an endpoint's answer."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from layer_share_cli.main import main
from tests.cli.assemblies import FUNCTION, GRANT, LAYER, with_grant, write_assembly


def no_template_file(directory: Path) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    del manifest["artifacts"]["Shares"]["properties"]["templateFile"]
    (directory / "manifest.json").write_text(json.dumps(manifest))


def template_text(text: str) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        (directory / "Shares.template.json").write_text(text)

    return write


def template_json(template: Any) -> Callable[[Path], None]:
    return template_text(json.dumps(template))


def template_fifo(directory: Path) -> None:
    (directory / "Shares.template.json").unlink()
    os.mkfifo(directory / "Shares.template.json")


def template_device(directory: Path) -> None:
    (directory / "Shares.template.json").unlink()
    (directory / "Shares.template.json").symlink_to("/dev/zero")


def self_nesting(directory: Path) -> None:
    nested = {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": "Shares.template.json"}}
    template_json({"Resources": {"Handler": FUNCTION, "Share": GRANT, "Itself": nested}})(directory)


def manifest_artifacts_list(directory: Path) -> None:
    (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": []}))


ASSEMBLY_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "a manifest without templateFile": (no_template_file, "the field templateFile is nothing; expected a string"),
    "a template that is a list": (template_json([1, 2]), "holds a JSON list; expected a JSON object"),
    "a template that is not JSON": (template_text("{"), "cannot read"),
    "a template nested too deep": (template_text("[" * 100_000), "nested too deep"),
    "Resources as a list": (template_json({"Resources": []}), "the field Resources is a JSON list"),
    "a grant without Properties": (
        template_json({"Resources": {"Handler": FUNCTION, "Share": {"Type": GRANT["Type"]}}}),
        "Resources.Share: the field Properties is nothing; expected an object",
    ),
    "a function without Handler": (
        template_json({"Resources": {"Handler": {**FUNCTION, "Properties": {}}, "Share": GRANT}}),
        "the field Handler is nothing; expected a string",
    ),
    "a function whose Timeout is not seconds": (
        template_json(
            {
                "Resources": {
                    "Handler": {**FUNCTION, "Properties": {**FUNCTION["Properties"], "Timeout": "60"}},
                    "Share": GRANT,
                }
            }
        ),
        "Timeout must be a whole number of seconds from 1 to 900, got '60'",
    ),
    "a malformed Fn::Join": (template_json(with_grant(LayerName={"Fn::Join": [":"]})), "Fn::Join expects a list"),
    "a malformed Fn::Select": (
        template_json(with_grant(VersionNumber={"Fn::Select": [9, ["1"]]})),
        "Fn::Select index 9 is not an index",
    ),
    "a nested stack that includes itself": (self_nesting, "a nested stack that includes itself"),
    "a template that is a FIFO": (template_fifo, "is not a regular file"),
    "a template that is a device": (template_device, "is not a regular file"),
    "artifacts as a list": (manifest_artifacts_list, "the field artifacts is a JSON list; expected an object"),
}


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0], captured.out


@pytest.mark.parametrize("case", ASSEMBLY_CASES)
def test_a_malformed_assembly_is_one_line_and_exit_2_for_try(case, tmp_path, capsys):
    break_it, expected = ASSEMBLY_CASES[case]
    assembly = write_assembly(tmp_path / "cdk.out")
    break_it(assembly)

    status = main(["try", str(assembly)])

    line, _ = one_error_line(capsys)
    assert status == 2
    assert expected in line


@pytest.mark.parametrize("case", ASSEMBLY_CASES)
def test_a_malformed_assembly_is_one_json_document_with_an_error_for_verify(case, tmp_path, capsys):
    break_it, expected = ASSEMBLY_CASES[case]
    assembly = write_assembly(tmp_path / "cdk.out")
    break_it(assembly)

    status = main(["verify", str(assembly), "--json", "--endpoint-url", "http://127.0.0.1:9"])

    line, out = one_error_line(capsys)
    assert status == 2
    assert expected in json.loads(out)["error"] and expected in line


def test_an_endpoint_that_is_not_a_url_is_one_line(tmp_path, capsys):
    status = main(["verify", str(write_assembly(tmp_path / "cdk.out")), "--json", "--endpoint-url", "not a url"])

    _, out = one_error_line(capsys)
    assert status == 2
    assert "is not a URL; expected http(s)://HOST[:PORT]" in json.loads(out)["error"]


def test_a_usage_error_is_one_line_and_json_with_json(capsys):
    status = main(["verify", "cdk.out", "--json", "--no-such-option"])

    _, out = one_error_line(capsys)
    assert status == 2
    assert "unrecognized arguments: --no-such-option" in json.loads(out)["error"]


POLICY_ANSWERS = {
    "a policy that is not JSON": ("{not json", "is not a JSON object"),
    "a single-object Statement": (
        json.dumps({"Version": "2012-10-17", "Statement": {"Sid": "share"}}),
        "Statement that is not a list of objects",
    ),
    "a list Condition": (
        json.dumps({"Statement": [{"Sid": "share", "Condition": ["StringEquals"]}]}),
        "the Condition of 'share' is not an object of objects",
    ),
}


@pytest.fixture
def lambda_answering() -> Iterator[Callable[..., str]]:
    """A Lambda endpoint that lists version 1 of any layer and answers its policy with the text given."""
    answers: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            versions = answers.get("versions", [{"Version": 1, "LayerVersionArn": f"{LAYER}:1"}])
            body = (
                {"Policy": answers["policy"], "RevisionId": "rev"}
                if path.endswith("/policy")
                else {"LayerVersions": versions}
            )
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()

    def answering(policy: str, versions: Any = None) -> str:
        answers["policy"] = policy
        if versions is not None:
            answers["versions"] = versions
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield answering
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("case", POLICY_ANSWERS)
def test_a_malformed_policy_from_the_endpoint_is_could_not_check(case, tmp_path, capsys, lambda_answering):
    policy, expected = POLICY_ANSWERS[case]
    assembly = write_assembly(tmp_path / "cdk.out")

    status = main(["verify", str(assembly), "--json", "--endpoint-url", lambda_answering(policy)])

    line, out = one_error_line(capsys)
    assert status == 2
    assert expected in json.loads(out)["error"] and expected in line


def test_a_version_listing_of_another_shape_is_could_not_check(tmp_path, capsys, lambda_answering):
    assembly = write_assembly(tmp_path / "cdk.out")

    endpoint = lambda_answering("{}", versions=[{"LayerVersionArn": f"{LAYER}:1"}])
    status = main(["verify", str(assembly), "--json", "--endpoint-url", endpoint])

    _line, out = one_error_line(capsys)
    assert status == 2
    assert "ListLayerVersions answered in a shape Lambda never uses" in json.loads(out)["error"]


def test_verify_help_states_the_worst_case_against_an_endpoint_that_never_answers(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert "an endpoint that never answers" in text and "at most 10 s" in text
