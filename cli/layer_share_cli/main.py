"""The `layer-share` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from .network import ATTEMPTS, CONNECT_SECONDS, MAX_PARALLEL_READS, READ_SECONDS, WORST_CASE_SECONDS

# Exit statuses, as the README documents them.
OK, FAILED, CANNOT_RUN = 0, 1, 2
LOCAL_EXTRA = "pip install 'layer-version-permission[local]'"


def parameter(text: str) -> tuple[str, str]:
    """`Name=value` for every stack, or `Stack/Path:Name=value` for one stack."""
    name, equals, value = text.partition("=")
    if not equals or not name or name.endswith(":") or name.startswith(":"):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE or STACK:NAME=VALUE, got {text!r}")
    return name, value


class UsageError(Exception):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised for `main` to report: one line, exit status 2 (CANNOT_RUN)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def parser() -> argparse.ArgumentParser:
    command = _Parser(
        prog="layer-share", description="Try Lambda layer version grants locally, and verify deployed ones."
    )
    commands = command.add_subparsers(dest="command", required=True)

    try_ = commands.add_parser(
        "try",
        help="deploy a synthesized app's grants to an embedded Lambda, or play a change from a previous synth",
        description="Run the grant handler from the synthesized asset against an embedded Lambda, as CloudFormation "
        f"would deploy the grants. Needs the [local] extra: {LOCAL_EXTRA}",
    )
    try_.add_argument("assembly", type=Path, metavar="CDK_OUT", help="the cloud assembly cdk synth wrote")
    try_.add_argument(
        "--from",
        dest="previous",
        type=Path,
        action="append",
        default=[],
        metavar="PREVIOUS_CDK_OUT",
        help="a previous synth: deploy it first, then play the change to CDK_OUT; repeat it to play a history of "
        "synths in order, the first one deployed, each next one a change",
    )
    try_.add_argument(
        "--synth-parameters",
        nargs="+",
        action="append",
        default=[],
        metavar=("SYNTH", "[STACK:]NAME=VALUE"),
        help="values for one synth of the history (CDK_OUT or a --from directory), which win over --parameters "
        "there; repeat it for each synth",
    )
    try_.add_argument(
        "--destroy",
        action="store_true",
        help="play a stack that a synth no longer holds as deleted (cdk deploy leaves it alone, and so does try)",
    )
    _common(try_)

    standin = commands.add_parser(
        "standin",
        help="serve the faithful Lambda stand-in that try uses, for verify --endpoint-url and your own tests",
        description="Serve moto's Lambda, made faithful to Lambda's layer version policies (duplicate StatementIds, "
        "RevisionId, the statements' shape, organization grants), until Ctrl-C. Any access keys act in moto's "
        f"account 123456789012. Needs the [local] extra: {LOCAL_EXTRA}",
    )
    standin.add_argument("--port", type=int, default=5000, help="the port to listen on (default: 5000)")
    standin.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")

    verify = commands.add_parser(
        "verify",
        help="check that deployed grants match the live layer version policies (read-only)",
        description="Read the policies of the versions of every layer a grant names and compare them with each "
        "grant's window (the current version, and the versions its retention keeps). Uses boto3's default "
        "credentials; never writes. Exit status: 0 in sync, 1 drift, 2 could not check. Network: each call has a "
        f"{CONNECT_SECONDS:g} s connect and {READ_SECONDS:g} s read timeout and {ATTEMPTS} attempts, so it takes at "
        f"most {WORST_CASE_SECONDS:g} s; a layer's versions are listed in one call, then read "
        f"{MAX_PARALLEL_READS} at a time, layers in parallel: against an endpoint that never answers, every layer "
        f"version is reported unchecked after at most {WORST_CASE_SECONDS:g} s (per CloudFormation call with "
        "--stack-name).",
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("assembly", type=Path, nargs="?", metavar="CDK_OUT", help="the grants of a cloud assembly")
    source.add_argument("--stack-name", help="the grants of a deployed stack, read from CloudFormation")
    verify.add_argument(
        "--region",
        help="the region of --stack-name, and of an environment-agnostic stack of CDK_OUT (default: boto3's)",
    )
    verify.add_argument(
        "--account",
        help="the account of an environment-agnostic stack of CDK_OUT (default: the default credentials' account)",
    )
    verify.add_argument("--endpoint-url", help="send every AWS call to this endpoint instead (layer-share standin)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    _common(verify)
    return command


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--stack", action="append", default=[], metavar="NAME", help="only this stack (repeatable), e.g. Prod/Layers"
    )
    command.add_argument(
        "--parameters",
        nargs="+",
        type=parameter,
        action="extend",
        default=[],
        metavar="[STACK:]NAME=VALUE",
        help="values for the stacks' parameters (or for the Ref of an in-stack resource): NAME=VALUE for every "
        "stack, STACK:NAME=VALUE (e.g. Prod/Layers:Consumer=444455556666) for one, which wins",
    )


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    try:
        arguments = parser().parse_args(given)
    except UsageError as usage:
        if "verify" in given and "--json" in given:
            print(json.dumps({"status": "could not check", "error": str(usage)}))
        print(usage, file=sys.stderr)
        return CANNOT_RUN
    if arguments.command == "try":
        return _try(arguments)
    if arguments.command == "standin":
        return _standin(arguments)
    from .verify_command import run_verify

    return run_verify(arguments)


def _try(arguments: argparse.Namespace) -> int:
    try:
        from . import try_command
    except ImportError as missing:
        print(f"layer-share try needs the embedded Lambda ({missing.name} is missing): {LOCAL_EXTRA}", file=sys.stderr)
        return CANNOT_RUN
    from .assembly import AssemblyError
    from .emulator.cloudformation import DeployFailed
    from .template import Unresolvable

    try:
        result = try_command.run_try(
            arguments.assembly,
            arguments.previous,
            arguments.stack,
            dict(arguments.parameters),
            print,
            destroy=arguments.destroy,
            synth_parameters=_synth_parameters(arguments.synth_parameters),
        )
    except (AssemblyError, Unresolvable, UsageError) as problem:
        print(f"layer-share try: {_one_line(problem)}", file=sys.stderr)
        return CANNOT_RUN
    except (DeployFailed, try_command.PoliciesDiffer) as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return FAILED
    not_played = f"; {len(result.unplayable)} not played" if result.unplayable else ""
    print(
        f"\nDone: {result.events} CloudFormation events, all SUCCESS; the layer policies hold exactly what the "
        f"templates declare{not_played} ({result.seconds:.1f} s)"
    )
    if result.unplayable:
        first = result.unplayable[0]
        more = f" (and {len(result.unplayable) - 1} more, listed above)" if len(result.unplayable) > 1 else ""
        print(f"layer-share try: {first.path} was not played: {first.reason}{more}", file=sys.stderr)
        return CANNOT_RUN
    return OK


def _synth_parameters(given: list[list[str]]) -> dict[Path, dict[str, str]]:
    """`--synth-parameters SYNTH NAME=VALUE ...`, by synth directory."""
    by_synth: dict[Path, dict[str, str]] = {}
    for synth, *values in given:
        if not values:
            raise UsageError(f"--synth-parameters {synth} gives no values; expected SYNTH [STACK:]NAME=VALUE ...")
        try:
            by_synth.setdefault(Path(synth), {}).update(parameter(value) for value in values)
        except argparse.ArgumentTypeError as wrong:
            raise UsageError(f"--synth-parameters {synth}: {wrong}") from None
    return by_synth


def _standin(arguments: argparse.Namespace) -> int:
    try:
        from .emulator.faithful_moto import serve_until_interrupted
    except ImportError as missing:
        print(f"layer-share standin needs moto ({missing.name} is missing): {LOCAL_EXTRA}", file=sys.stderr)
        return CANNOT_RUN
    try:
        serve_until_interrupted(arguments.port, arguments.host)
    except OSError as error:
        print(f"layer-share standin: cannot listen on {arguments.host}:{arguments.port}: {error}", file=sys.stderr)
        return CANNOT_RUN
    return OK


def _one_line(problem: Exception) -> str:
    return " ".join(str(problem).split())
