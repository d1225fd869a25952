"""The `layer-share` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Exit statuses, as the README documents them.
OK, FAILED, CANNOT_RUN = 0, 1, 2
LOCAL_EXTRA = "pip install 'layer-version-permission[local]'"


def parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
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
    _common(try_)

    verify = commands.add_parser(
        "verify",
        help="check that deployed grants match the live layer version policies (read-only)",
        description="Read the policy of every layer version a grant names and compare it with the grants. "
        "Uses boto3's default credentials; never writes. Exit status: 0 in sync, 1 drift, 2 could not check.",
    )
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("assembly", type=Path, nargs="?", metavar="CDK_OUT", help="the grants of a cloud assembly")
    source.add_argument("--stack-name", help="the grants of a deployed stack, read from CloudFormation")
    verify.add_argument("--region", help="the region of the stack (default: boto3's)")
    verify.add_argument("--endpoint-url", help="send every AWS call to this endpoint instead")
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
        metavar="NAME=VALUE",
        help="values for the stacks' parameters (or for the Ref of an in-stack resource)",
    )


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.command == "try":
        return _try(arguments)
    from .verify_command import run_verify

    return run_verify(arguments)


def _try(arguments: argparse.Namespace) -> int:
    try:
        from . import try_command
    except ImportError as missing:
        print(f"layer-share try needs the embedded Lambda ({missing.name} is missing): {LOCAL_EXTRA}", file=sys.stderr)
        return CANNOT_RUN
    from .assembly import AssemblyError
    from .cloudformation import DeployFailed
    from .template import Unresolvable

    try:
        result = try_command.run_try(
            arguments.assembly, arguments.previous, arguments.stack, dict(arguments.parameters), print
        )
    except (AssemblyError, Unresolvable) as problem:
        print(f"layer-share try: {problem}", file=sys.stderr)
        return CANNOT_RUN
    except (DeployFailed, try_command.PoliciesDiffer) as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return FAILED
    print(
        f"\nDone: {result.events} CloudFormation events, all SUCCESS; the layer policies hold exactly what the "
        f"templates declare ({result.seconds:.1f} s)"
    )
    return OK
