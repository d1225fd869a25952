"""LayerVersionPermission and LayerVersionSharing: share a Lambda layer version, and revoke exactly that grant."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from aws_cdk import CfnResource, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from layer_share_handler.rules import ALL_ACCOUNTS, organization_problem, property_problem, quote

from .handler_function import PermissionHandler
from .target import target_for
from .tokens import is_unresolved

RESOURCE_TYPE = "Custom::LayerVersionPermission"
# Several handler timeouts long, so that a handler that never answers fails the stack within minutes
# instead of after CloudFormation's default of one hour.
SERVICE_TIMEOUT_SECONDS = 5 * 60
_ARN_SHAPE = "arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>"


class LayerVersionPermission(Construct):
    """Grant one principal the right to use one Lambda layer version (lambda:GetLayerVersion).

    Exactly one of `layer_version` and `layer_version_arn` names the layer version. `principal` is a
    12-digit account ID, `arn:aws:iam::<account>:root`, or `'*'`; with `organization_id` ('o-...') the
    principal must be `'*'` and the grant covers that organization's accounts only. `'*'` alone shares the
    layer version with every AWS account, so it also needs `allow_all_accounts=True`.

    The default `statement_id` derives from this construct's place in the app, not from the principal:
    changing the principal or the organization updates the grant in place, revoking the old one. Set it
    explicitly when another app also grants on the same layer version from the same construct path.

    A new layer version (a new ARN) replaces the grant. `retain_on_replace` (default True) then keeps the
    grant on the old version, as it was (with the old principal, if that changed too), so that functions
    still pinned to the old version keep working; this matters only while the old version exists, that is
    with `LayerVersion(removal_policy=RemovalPolicy.RETAIN)`. False revokes the grant on the old version;
    since the template then no longer names that version, the handler is allowed on every version of the
    layer (`...:layer:<name>:*`), which cdk-nag reports as AwsSolutions-IAM5. `removal_policy` decides what
    deleting this construct, or the stack, does to the grant.

    Every concrete value is checked at synth time with the handler's own rules; a token (a principal from
    a parameter, say) is checked by the handler at deploy time. The `allow_all_accounts` guard needs a
    concrete principal: a token that resolves to `'*'` is not stopped.

    Each distinct layer version adds one inline policy to the stack's handler role, and IAM caps a role's
    inline policies at 10,240 characters in all: about 40 distinct layer versions per stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer_version: lambda_.ILayerVersion | None = None,
        layer_version_arn: str | None = None,
        principal: str,
        organization_id: str | None = None,
        statement_id: str | None = None,
        allow_all_accounts: bool = False,
        retain_on_replace: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, id)
        if statement_id is None:
            statement_id = Names.unique_resource_name(self, max_length=100, allowed_special_characters="-_")
        version_arn = version_arn_of(layer_version, layer_version_arn)
        raise_problems(
            self,
            [
                *layer_problems(layer_version, layer_version_arn, version_arn),
                *_grant_problems(principal, organization_id, statement_id, allow_all_accounts),
            ],
        )
        # A grant declared right in its stack skips Stack.of, a round trip to the jsii kernel.
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        target = target_for(version_arn, defined_in_same_stack=_defined_in(layer_version, stack))
        handler = PermissionHandler.of(stack)
        properties = {
            "LayerName": target.layer_name,
            "VersionNumber": target.version_number,
            "StatementId": statement_id,
            "Principal": principal,
            # Action is left out: lambda:GetLayerVersion is the only value Lambda accepts, and the handler's default.
            **({"OrganizationId": organization_id} if organization_id is not None else {}),
        }
        # A CfnResource in the tree the CustomResource construct builds (Resource/Default): logical IDs,
        # `aws:cdk:path` metadata and escape hatches stay as they were, for far fewer round trips to the jsii kernel.
        resource = CfnResource(
            Construct(self, "Resource"),
            "Default",
            type=RESOURCE_TYPE,
            properties={
                "ServiceToken": handler.service_token,
                # A string, as the CustomResource construct renders it.
                "ServiceTimeout": str(SERVICE_TIMEOUT_SECONDS),
                **properties,
            },
        )
        # First the UpdateReplacePolicy (and a DeletionPolicy that the second call replaces): CloudFormation
        # replaces the grant (new PhysicalResourceId) when its layer version changes. Two calls are fewer round
        # trips to the jsii kernel than setting cfn_options.
        resource.apply_removal_policy(RemovalPolicy.RETAIN if retain_on_replace else RemovalPolicy.DESTROY)
        resource.apply_removal_policy(
            removal_policy, default=RemovalPolicy.DESTROY, apply_to_update_replace_policy=False
        )
        resource.add_resource_dependency(handler.allow(self, target, all_versions=not retain_on_replace))
        self._resource = resource

    # The attributes are read on first use: each costs round trips to the jsii kernel, and most grants need none.

    @cached_property
    def ref(self) -> str:
        """The PhysicalResourceId: `<LayerVersionArn>#<StatementId>#<RevisionId>`."""
        return self._resource.ref

    @cached_property
    def statement_id(self) -> str:
        return self._attribute("StatementId")

    @cached_property
    def statement(self) -> str:
        """The statement as Lambda stored it, a JSON string."""
        return self._attribute("Statement")

    @cached_property
    def revision_id(self) -> str:
        """The layer version policy's RevisionId after the grant."""
        return self._attribute("RevisionId")

    @cached_property
    def layer_version_arn(self) -> str:
        return self._attribute("LayerVersionArn")

    def _attribute(self, name: str) -> str:
        return Token.as_string(self._resource.get_att(name))


class LayerVersionSharing(Construct):
    """Share one layer version with several accounts and organizations at once.

    Creates one LayerVersionPermission per principal, named after it (`Account<id>`, `Organization<id>`),
    so removing an account from the list revokes that account's grant and touches no other. The principals
    must therefore be concrete values; for a principal known only at deploy time use LayerVersionPermission.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer_version: lambda_.ILayerVersion | None = None,
        layer_version_arn: str | None = None,
        accounts: Sequence[str] = (),
        organization_ids: Sequence[str] = (),
        retain_on_replace: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, id)
        raise_problems(
            self,
            [
                *layer_problems(layer_version, layer_version_arn, version_arn_of(layer_version, layer_version_arn)),
                *_list_problems("accounts", "Principal", accounts),
                *_list_problems("organization_ids", "OrganizationId", organization_ids),
            ],
        )
        common: dict[str, Any] = {
            "layer_version": layer_version,
            "layer_version_arn": layer_version_arn,
            "retain_on_replace": retain_on_replace,
            "removal_policy": removal_policy,
        }
        self.permissions: tuple[LayerVersionPermission, ...] = (
            *(LayerVersionPermission(self, f"Account{account}", principal=account, **common) for account in accounts),
            *(
                LayerVersionPermission(
                    self, f"Organization{organization}", principal=ALL_ACCOUNTS, organization_id=organization, **common
                )
                for organization in organization_ids
            ),
        )
        """One grant per account, then one per organization, in the order given."""


def raise_problems(construct: Construct, problems: list[str]) -> None:
    if len(problems) == 1:
        raise ValueError(f"{type(construct).__name__} {construct.node.path}: {problems[0]}")
    if problems:
        listed = "".join(f"\n- {problem}" for problem in problems)
        raise ValueError(f"{type(construct).__name__} {construct.node.path} has {len(problems)} problems:{listed}")


def rule_problem(prop: str, cfn_name: str, value: Any) -> str | None:
    """Check a concrete value with the handler's rule for its property; a token is checked at deploy time."""
    if is_unresolved(value):
        return None
    problem = property_problem(cfn_name, value)
    return None if problem is None else f"{prop}={quote(value)} is invalid: {problem}"


def version_arn_of(layer_version: lambda_.ILayerVersion | None, layer_version_arn: str | None) -> Any:
    """The ARN of the layer version a construct names. Read it once: each read of a layer's layer_version_arn
    is a round trip to the jsii kernel, two for an imported layer version."""
    return layer_version.layer_version_arn if layer_version is not None else layer_version_arn


def layer_problems(layer_version: lambda_.ILayerVersion | None, layer_version_arn: str | None, arn: Any) -> list[str]:
    """What is wrong with the layer version a construct names; `arn` is its version_arn_of."""
    if (layer_version is None) == (layer_version_arn is None):
        return [
            "pass exactly one of layer_version (an aws_lambda.ILayerVersion) and layer_version_arn "
            f"({_ARN_SHAPE}), got {'both' if layer_version is not None else 'neither'}"
        ]
    prop = "layer_version" if layer_version is not None else "layer_version_arn"
    if is_unresolved(arn):
        return []
    if not isinstance(arn, str) or not arn.startswith("arn:") or arn.count(":") != 7:
        return [f"{prop}={quote(arn)} is not a layer version ARN; expected {_ARN_SHAPE}"]
    layer_arn, _, version = arn.rpartition(":")
    return [
        f"{prop}={quote(arn)} is invalid: {problem}"
        for problem in (property_problem("LayerName", layer_arn), property_problem("VersionNumber", version))
        if problem is not None
    ]


def _grant_problems(principal: Any, organization_id: Any, statement_id: Any, allow_all_accounts: bool) -> list[str]:
    problems = [
        rule_problem("principal", "Principal", principal),
        None if organization_id is None else rule_problem("organization_id", "OrganizationId", organization_id),
        rule_problem("statement_id", "StatementId", statement_id),
    ]
    if organization_id is not None and not is_unresolved(principal):
        mismatch = organization_problem(principal, organization_id)
        problems.append(None if mismatch is None else f"organization_id={quote(organization_id)}: {mismatch}")
    public = principal == ALL_ACCOUNTS and organization_id is None
    if public and not allow_all_accounts:
        problems.append(
            "principal='*' without organization_id grants every AWS account the right to use this layer version; "
            "pass allow_all_accounts=True if that is intended, or organization_id='o-...' to share with one "
            "organization only"
        )
    if allow_all_accounts and not public and not is_unresolved(principal):
        problems.append(
            f"allow_all_accounts=True applies only to principal='*' without organization_id, got "
            f"principal={quote(principal)} and organization_id={quote(organization_id)}; remove allow_all_accounts"
        )
    return [problem for problem in problems if problem is not None]


def _list_problems(prop: str, cfn_name: str, values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        return [f"{prop} must be a list, got the string {quote(values)}; write [{quote(values)}]"]
    problems = []
    for index, value in enumerate(values):
        label = f"{prop}[{index}]"
        if is_unresolved(value):
            problems.append(
                f"{label} is a token, but each grant is named after its principal, so the value must be known at "
                "synth time; use LayerVersionPermission for a principal known only at deploy time"
            )
        elif value == ALL_ACCOUNTS and cfn_name == "Principal":
            problems.append(
                f"{label}='*' would share with every AWS account; use "
                "LayerVersionPermission(principal='*', allow_all_accounts=True) if that is intended"
            )
        elif (problem := rule_problem(label, cfn_name, value)) is not None:
            problems.append(problem)
    repeated = sorted({value for value in values if values.count(value) > 1})
    problems += [f"{prop} lists {quote(value)} more than once" for value in repeated]
    return problems


def _defined_in(layer_version: lambda_.ILayerVersion | None, stack: Stack) -> bool:
    return isinstance(layer_version, lambda_.LayerVersion) and Stack.of(layer_version) is stack
