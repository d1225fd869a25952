"""The "latest shared version" pointer: an SSM parameter that holds the shared layer version's ARN, shared through
AWS RAM with the grant's principals, so that consumers in other accounts can find the version they may use.

Producers ask for it with `publish_pointer=PointerOptions(...)` on a grant; consumers read it with
`SharedLayer.latest`. Native resources only: the grant handler knows nothing of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from aws_cdk import Annotations, CfnOutput, CfnResource, Names, Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ram as ram
from aws_cdk import aws_ssm as ssm
from aws_cdk.region_info import RegionInfo

from constructs import Construct
from layer_share_handler.rules import ALL_ACCOUNTS, quote
from layer_share_handler.statement import account_or_star

from .validation import Prop

ORGANIZATION_SHARING_WARNING = "layer-share:PointerOrganizationSharing"
DEFAULT_NAME_PREFIX = "/layer-share/"
DEFAULT_NAME_SUFFIX = "/latest"
# SSM's naming rules ("Creating Systems Manager parameters" in the Systems Manager user guide, and PutParameter).
_NAME_CHARACTERS = re.compile(r"[a-zA-Z0-9_./-]+")
_RESERVED_PREFIXES = ("aws", "ssm")
MAX_LEVELS = 15
MAX_ARN_LENGTH = 1011  # SSM counts a name's length as that of its whole ARN
# What a value known only at deploy time is counted as: the longest partition and region.
_LONGEST_ARN_PREFIX = "arn:aws-us-gov:ssm:ap-southeast-7:123456789012:parameter/"
ORGANIZATION_ARN_SHAPE = "arn:aws:organizations::<management-account>:organization/o-..."
_ORGANIZATION_ARN = re.compile(r"arn:aws[a-z-]*:organizations::\d{12}:organization/(o-[a-z0-9]{10,32})")
_PARAMETER_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[a-zA-Z0-9_./-]+")
PARAMETER_ARN_SHAPE = "arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading '/'>"


@dataclass(frozen=True)
class PointerOptions:
    """Publish the shared layer version's ARN in an advanced-tier SSM parameter, shared through AWS RAM with the
    grant's principals, and moved to each new version once its grants exist.

    `parameter_name` defaults to `/layer-share/<layer name>/latest` when the layer version ARN is known at synth;
    for a layer defined in the same stack (its ARN is a token), give it. `organization_arns` names, by ARN, each
    organization the grant shares with, as RAM needs it: `arn:aws:organizations::<management-account>:
    organization/o-...` (`aws organizations describe-organization` prints it).
    """

    parameter_name: str | None = None
    organization_arns: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Audience:
    """Who a grant shares the layer version with, as the grant's props name them: account principals and
    organization IDs."""

    accounts: Sequence[Prop]
    organization_ids: Sequence[Prop]


class LayerVersionPointer(Construct):
    """The parameter, its RAM share and an output with its ARN. Made by the grant constructs for `publish_pointer`.

    `parameter_arn` is what consumers pass to `SharedLayer.latest`; it is a concrete string when the stack's
    account and region are.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        parameter_name: str,
        version_arn: str,
        grants: Sequence[CfnResource],
        principals: Sequence[str],
    ) -> None:
        super().__init__(scope, id)
        self.parameter_name = parameter_name
        self.parameter_arn = parameter_arn(Stack.of(self), parameter_name)
        self.parameter = ssm.CfnParameter(
            self,
            "Parameter",
            name=parameter_name,
            type="String",
            # Only an advanced parameter can be shared through RAM.
            tier="Advanced",
            value=version_arn,
            description="The layer version ARN that the layer's grants share; read it by this parameter's ARN",
        )
        # A consumer must never read an ARN it may not use yet: the parameter moves once every grant exists.
        for grant in grants:
            self.parameter.add_resource_dependency(grant)
        self.resource_share = ram.CfnResourceShare(
            self,
            "Share",
            name=Names.unique_resource_name(self, max_length=255),
            resource_arns=[self.parameter_arn],
            principals=list(principals),
        )
        # The share names the parameter by an ARN built here, not by a reference, so CloudFormation must be told.
        self.resource_share.add_resource_dependency(self.parameter)
        CfnOutput(self, "ParameterArn", value=self.parameter_arn, description="The pointer's ARN, for consumers")

    @classmethod
    def publish(
        cls,
        owner: Construct,
        options: PointerOptions,
        *,
        version_arn: Prop,
        audience: Audience,
        grants: Sequence[CfnResource],
    ) -> tuple[LayerVersionPointer | None, list[str]]:
        """The pointer of `owner`'s grants, or the problems that prevent it, prefixed `publish_pointer.`."""
        name = options.parameter_name if options.parameter_name is not None else _default_name(version_arn)
        stack = Stack.of(owner)
        problems = [
            *_name_problems(options.parameter_name, name, stack),
            *_public_problems(audience),
            *_organization_problems(audience.organization_ids, options.organization_arns),
        ]
        if name is not None and not problems:
            problems += _PointerIndex.of(stack).add(owner, name, version_arn)
        if problems or name is None:
            return None, problems
        if audience.organization_ids:
            Annotations.of(owner).add_warning_v2(
                ORGANIZATION_SHARING_WARNING,
                "publish_pointer shares the pointer with an organization through AWS RAM, which works only from an "
                "account in that organization, once its management account has enabled RAM's sharing with AWS "
                "Organizations (aws ram enable-sharing-with-aws-organization); without it RAM refuses the "
                "organization, and accounts shared with one by one must each accept an invitation",
            )
        principals = [_ram_account(account) for account in audience.accounts] + list(options.organization_arns)
        pointer = cls(
            owner,
            "Pointer",
            parameter_name=name,
            version_arn=str(version_arn.value),
            grants=grants,
            principals=principals,
        )
        return pointer, []


class SharedLayer:
    """The consumer's side of a pointer: the layer version that another account shares, found by its pointer."""

    @staticmethod
    def latest(scope: Construct, id: str, *, parameter_arn: str) -> lambda_.ILayerVersion:
        """The layer version whose ARN the pointer holds when CloudFormation deploys the stack.

        The template gets a parameter of type `AWS::SSM::Parameter::Value<String>` with `parameter_arn` as its
        default, which CloudFormation reads at every deploy: each deploy moves to the version shared then. The
        pointer must be in the stack's region, and the deploy role needs `ssm:GetParameters` on it.
        """
        if Token.is_unresolved(parameter_arn) or not _PARAMETER_ARN.fullmatch(parameter_arn):
            raise ValueError(
                f"SharedLayer.latest {scope.node.path}/{id}: parameter_arn={quote(parameter_arn)} is not an SSM "
                f"parameter ARN; expected {PARAMETER_ARN_SHAPE}, written out as the producer's pointer output shows it"
            )
        group = Construct(scope, id)
        pointer = ssm.StringParameter.from_string_parameter_arn(group, "Pointer", parameter_arn)
        return lambda_.LayerVersion.from_layer_version_arn(group, "LayerVersion", pointer.string_value)


def parameter_arn(stack: Stack, name: str) -> str:
    """The parameter's ARN: concrete when the stack's account and region are, so consumers can be told it."""
    region = stack.region
    partition = None if Token.is_unresolved(region) else RegionInfo.get(region).partition
    return stack.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"), partition=partition)


def _default_name(version_arn: Prop) -> str | None:
    if not version_arn.known:
        return None
    layer_name = str(version_arn.value).split(":")[6]
    return f"{DEFAULT_NAME_PREFIX}{layer_name}{DEFAULT_NAME_SUFFIX}"


def _name_problems(given: str | None, name: str | None, stack: Stack) -> list[str]:
    """SSM's rules for a parameter name, checked on the name given or derived."""
    if name is None:
        what = "the layer version ARN is known only at deploy time" if given is None else "it is a token"
        return [
            f"publish_pointer.parameter_name is needed: {what}, and consumers need the pointer's name at synth; "
            f"give a name such as '{DEFAULT_NAME_PREFIX}<layer name>{DEFAULT_NAME_SUFFIX}'"
        ]
    if Token.is_unresolved(name):
        return _name_problems(given, None, stack)
    label = f"publish_pointer.parameter_name={quote(name)}"
    problems = []
    if not _NAME_CHARACTERS.fullmatch(name):
        problems.append(f"{label} is invalid: SSM allows only letters, digits and '_', '.', '-', '/'")
    if name.lstrip("/").lower().startswith(_RESERVED_PREFIXES):
        problems.append(f"{label} is invalid: SSM reserves names that begin with 'aws' or 'ssm'; choose another")
    levels = name.removeprefix("/").split("/")
    if "/" in name and not name.startswith("/"):
        problems.append(f"{label} is invalid: a name with levels begins with '/'; write {quote('/' + name)}")
    elif "" in levels:
        problems.append(f"{label} is invalid: it has an empty level ('//' or a trailing '/')")
    if len(levels) > MAX_LEVELS:
        problems.append(f"{label} is invalid: it has {len(levels)} levels, past SSM's {MAX_LEVELS}")
    arn = parameter_arn(stack, name)
    prefix = arn.rpartition(":parameter/")[0] + ":parameter/" if not Token.is_unresolved(arn) else _LONGEST_ARN_PREFIX
    length = len(prefix) + len(name.lstrip("/"))
    if length > MAX_ARN_LENGTH:
        problems.append(
            f"{label} is invalid: SSM counts a name with its ARN ({prefix}...), {length} characters here, past "
            f"{MAX_ARN_LENGTH}; shorten it"
        )
    return problems


def _public_problems(audience: Audience) -> list[str]:
    if audience.organization_ids or not any(account.value == ALL_ACCOUNTS for account in audience.accounts):
        return []
    return [
        "publish_pointer is not for a public grant (principal='*' without organization_id): RAM cannot share the "
        "pointer with every AWS account; publish the ARN another way, or share with accounts or an organization"
    ]


def _organization_problems(organization_ids: Sequence[Prop], organization_arns: Sequence[str]) -> list[str]:
    """Each organization the grant shares with is named by its ARN, and no other one."""
    if isinstance(organization_arns, str):
        return [f"publish_pointer.organization_arns must be a list, got the string {quote(organization_arns)}"]
    arns = [
        Prop.read(f"publish_pointer.organization_arns[{index}]", arn) for index, arn in enumerate(organization_arns)
    ]
    problems = [
        f"{arn.name}={quote(arn.value)} is not an organization ARN; expected {ORGANIZATION_ARN_SHAPE}"
        for arn in arns
        if arn.known and not (isinstance(arn.value, str) and _ORGANIZATION_ARN.fullmatch(arn.value))
    ]
    if problems:
        return problems
    if not all(prop.known for prop in [*arns, *organization_ids]):
        # A token can't be matched: at least count them.
        if len(arns) == len(organization_ids):
            return []
        return [
            f"publish_pointer.organization_arns has {len(arns)} ARNs for {len(organization_ids)} organizations "
            "shared with; give the ARN of each organization the grant shares with, and no other"
        ]
    named = {cast(re.Match[str], _ORGANIZATION_ARN.fullmatch(arn.value))[1]: arn for arn in arns}
    granted = {str(prop.value) for prop in organization_ids}
    problems += [
        f"the grant shares with organization {quote(organization)}, and RAM names an organization by its ARN: add "
        f"'arn:aws:organizations::<management-account>:organization/{organization}' to "
        "publish_pointer.organization_arns (aws organizations describe-organization prints it)"
        for organization in sorted(granted - set(named))
    ]
    problems += [
        f"{named[organization].name}={quote(named[organization].value)} names {organization}, which the grant does "
        "not share the layer version with; the pointer goes to the grant's principals only: remove it, or share "
        "the layer version with that organization too"
        for organization in sorted(set(named) - granted)
    ]
    return problems


def _ram_account(account: Prop) -> str:
    """RAM takes an account by its ID; a grant may name it by its root ARN."""
    return account_or_star(account.value) if account.known else str(account.value)


class _PointerIndex(Construct):
    """The pointers of one stack, by layer and by parameter name."""

    CONSTRUCT_ID = "LayerVersionPointerIndex"

    @classmethod
    def of(cls, stack: Stack) -> _PointerIndex:
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        return existing if isinstance(existing, _PointerIndex) else cls(stack, cls.CONSTRUCT_ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._by_layer: dict[str, Construct] = {}
        self._by_name: dict[str, Construct] = {}

    def add(self, owner: Construct, name: str, version_arn: Prop) -> list[str]:
        # A concrete ARN names its layer without the version; a token stands for one layer version construct.
        layer = str(version_arn.value).rpartition(":")[0] if version_arn.known else str(version_arn.value)
        first_for_layer = self._by_layer.setdefault(layer, owner)
        first_with_name = self._by_name.setdefault(name, owner)
        problems = []
        if first_for_layer is not owner:
            what = f"layer {quote(layer)}" if version_arn.known else "the same layer version"
            problems.append(
                f"publish_pointer: {first_for_layer.node.path} already publishes the pointer of {what} in this "
                "stack; a layer has one pointer, so give publish_pointer to one of them only"
            )
        elif first_with_name is not owner:
            problems.append(
                f"publish_pointer.parameter_name={quote(name)} is already the pointer of {first_with_name.node.path}; "
                "an account has one parameter by that name in a region, so choose another name"
            )
        return problems
