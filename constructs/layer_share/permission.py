"""LayerVersionPermission and LayerVersionSharing: share a Lambda layer version, and revoke exactly that grant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from aws_cdk import CfnDeletionPolicy, CustomResource, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from layer_share_handler.rules import ALL_ACCOUNTS, organization_problem, property_problem, quote

from .handler_function import PermissionHandler
from .target import target_for

RESOURCE_TYPE = "Custom::LayerVersionPermission"
# Several handler timeouts long, so that a handler that never answers fails the stack within minutes
# instead of after CloudFormation's default of one hour.
SERVICE_TIMEOUT = Duration.minutes(5)
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
        layer_version: Optional[lambda_.ILayerVersion] = None,
        layer_version_arn: Optional[str] = None,
        principal: str,
        organization_id: Optional[str] = None,
        statement_id: Optional[str] = None,
        allow_all_accounts: bool = False,
        retain_on_replace: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, id)
        if statement_id is None:
            statement_id = Names.unique_resource_name(self, max_length=100, allowed_special_characters="-_")
        raise_problems(
            self,
            [
                *layer_problems(layer_version, layer_version_arn),
                *_grant_problems(principal, organization_id, statement_id, allow_all_accounts),
            ],
        )
        version_arn = layer_version.layer_version_arn if layer_version is not None else layer_version_arn
        target = target_for(version_arn, defined_in_same_stack=_defined_in(layer_version, Stack.of(self)))
        handler = PermissionHandler.of(self)
        properties = {
            "LayerName": target.layer_name,
            "VersionNumber": target.version_number,
            "StatementId": statement_id,
            "Principal": principal,
            # Action is left out: lambda:GetLayerVersion is the only value Lambda accepts, and the handler's default.
            **({"OrganizationId": organization_id} if organization_id is not None else {}),
        }
        resource = CustomResource(
            self,
            "Resource",
            resource_type=RESOURCE_TYPE,
            service_token=handler.function.function_arn,
            service_timeout=SERVICE_TIMEOUT,
            properties=properties,
            removal_policy=removal_policy,
        )
        resource.node.add_dependency(handler.allow(self, target, all_versions=not retain_on_replace))
        # CloudFormation replaces the grant (new PhysicalResourceId) when its layer version changes.
        resource.node.default_child.cfn_options.update_replace_policy = (
            CfnDeletionPolicy.RETAIN if retain_on_replace else CfnDeletionPolicy.DELETE
        )

        self.ref: str = resource.ref
        """The PhysicalResourceId: `<LayerVersionArn>#<StatementId>#<RevisionId>`."""
        self.statement_id: str = resource.get_att_string("StatementId")
        self.statement: str = resource.get_att_string("Statement")
        """The statement as Lambda stored it, a JSON string."""
        self.revision_id: str = resource.get_att_string("RevisionId")
        """The layer version policy's RevisionId after the grant."""
        self.layer_version_arn: str = resource.get_att_string("LayerVersionArn")


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
        layer_version: Optional[lambda_.ILayerVersion] = None,
        layer_version_arn: Optional[str] = None,
        accounts: Sequence[str] = (),
        organization_ids: Sequence[str] = (),
        retain_on_replace: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        super().__init__(scope, id)
        raise_problems(
            self,
            [
                *layer_problems(layer_version, layer_version_arn),
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


def rule_problem(prop: str, cfn_name: str, value: Any) -> Optional[str]:
    """Check a concrete value with the handler's rule for its property; a token is checked at deploy time."""
    if Token.is_unresolved(value):
        return None
    problem = property_problem(cfn_name, value)
    return None if problem is None else f"{prop}={quote(value)} is invalid: {problem}"


def layer_problems(layer_version: Optional[lambda_.ILayerVersion], layer_version_arn: Optional[str]) -> list[str]:
    if (layer_version is None) == (layer_version_arn is None):
        return [
            "pass exactly one of layer_version (an aws_lambda.ILayerVersion) and layer_version_arn "
            f"({_ARN_SHAPE}), got {'both' if layer_version is not None else 'neither'}"
        ]
    prop, arn = ("layer_version", layer_version.layer_version_arn) if layer_version is not None else (
        "layer_version_arn", layer_version_arn
    )
    if Token.is_unresolved(arn):
        return []
    if not isinstance(arn, str) or not arn.startswith("arn:") or arn.count(":") != 7:
        return [f"{prop}={quote(arn)} is not a layer version ARN; expected {_ARN_SHAPE}"]
    layer_arn, _, version = arn.rpartition(":")
    return [
        f"{prop}={quote(arn)} is invalid: {problem}"
        for problem in (property_problem("LayerName", layer_arn), property_problem("VersionNumber", version))
        if problem is not None
    ]


def _grant_problems(
    principal: Any, organization_id: Any, statement_id: Any, allow_all_accounts: bool
) -> list[str]:
    problems = [
        rule_problem("principal", "Principal", principal),
        None if organization_id is None else rule_problem("organization_id", "OrganizationId", organization_id),
        rule_problem("statement_id", "StatementId", statement_id),
    ]
    if organization_id is not None and not Token.is_unresolved(principal):
        mismatch = organization_problem(principal, organization_id)
        problems.append(None if mismatch is None else f"organization_id={quote(organization_id)}: {mismatch}")
    public = principal == ALL_ACCOUNTS and organization_id is None
    if public and not allow_all_accounts:
        problems.append(
            "principal='*' without organization_id grants every AWS account the right to use this layer version; "
            "pass allow_all_accounts=True if that is intended, or organization_id='o-...' to share with one "
            "organization only"
        )
    if allow_all_accounts and not public and not Token.is_unresolved(principal):
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
        if Token.is_unresolved(value):
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


def _defined_in(layer_version: Optional[lambda_.ILayerVersion], stack: Stack) -> bool:
    return isinstance(layer_version, lambda_.LayerVersion) and Stack.of(layer_version) is stack
