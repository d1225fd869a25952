"""LayerVersionPermission and LayerVersionSharing: share a Lambda layer version, and revoke exactly that grant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import Annotations, CfnResource, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from layer_share_handler.rules import ALL_ACCOUNTS, GRANT_METADATA, RESOURCE_TYPE, quote

from .grant_index import GrantFacts
from .layer_arns import target_for
from .permission_handler import PermissionHandler
from .pointer import Audience, LayerVersionPointer, PointerOptions
from .validation import (
    ARN_SHAPE,
    Problems,
    Prop,
    account_problem,
    grant_problems,
    layer_problems,
    list_problems,
    removal_policy_problems,
    retention_problems,
)

# Several handler timeouts long, so that a handler that never answers fails the stack within minutes
# instead of after CloudFormation's default of one hour.
SERVICE_TIMEOUT_SECONDS = 5 * 60
EMPTY_SHARING_WARNING = "layer-share:EmptySharing"


class LayerVersionPermission(Construct):
    """Grant one principal the right to use one Lambda layer version (lambda:GetLayerVersion).

    Exactly one of `layer_version` and `layer_version_arn` names the layer version. `principal` is a
    12-digit account ID, `arn:aws:iam::<account>:root`, or `'*'`; with `organization_id` ('o-...') the
    principal must be `'*'` and the grant covers that organization's accounts only. `'*'` alone shares the
    layer version with every AWS account, so it also needs `allow_all_accounts=True`.

    The default `statement_id` derives from this construct's place in the app, not from the principal:
    changing the principal or the organization updates the grant in place, revoking the old one. Set it
    explicitly when another app also grants on the same layer version from the same construct path.

    A new layer version (a new ARN) replaces the grant. `keep_versions` decides which older versions of the
    layer keep it: the newest `keep_versions` versions, counting the current one, stay shared and older ones
    lose this grant's statement once the stack update has succeeded; None (the default) keeps every version,
    1 revokes the old version's grant at each move. This matters only while old versions exist, that is with
    `LayerVersion(removal_policy=RemovalPolicy.RETAIN)`. A change of principal or organization applies to every
    version that keeps the grant.

    `removal_policy` decides what deleting this construct, or the stack, does to the grant: DESTROY revokes it,
    and with `revoke_retained_on_delete` (the default) also its statement on every version it kept, so a deleted
    stack leaves no grant behind; RETAIN keeps them all.

    `cdk synth` reports every problem at once, with this construct's path: concrete values are checked with
    the handler's own rules, and against every other grant in the app (a StatementId used twice on one layer,
    one grantee twice on one layer version in one stack, a layer version policy past Lambda's size limit, a layer in
    another account than the stack's, a region botocore does not know).
    A token (a principal from a parameter, say) is checked by the handler at deploy time; the
    `allow_all_accounts` guard needs a concrete principal, so a token that resolves to `'*'` is not stopped.

    `publish_pointer=PointerOptions(...)` publishes the layer version's ARN in an SSM parameter shared through AWS
    RAM with the principal (or `organization_id`, named by its ARN in `PointerOptions.organization_arns`): it moves
    to each new version after the grant exists. A public grant gets none. See `PointerOptions`.

    `node.default_child` is the `Custom::LayerVersionPermission` CfnResource, for escape hatches.
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
        keep_versions: int | None = None,
        revoke_retained_on_delete: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        publish_pointer: PointerOptions | None = None,
    ) -> None:
        super().__init__(scope, id)
        arn = named_layer_version(self, layer_version, layer_version_arn)
        if statement_id is None:
            # Derived from the construct's path: known at synth time.
            default_id = Names.unique_resource_name(self, max_length=100, allowed_special_characters="-_")
            sid = Prop("statement_id", default_id, known=True)
        else:
            sid = Prop.read("statement_id", statement_id)
        grantee = Prop.read("principal", principal)
        organization = None if organization_id is None else Prop.read("organization_id", organization_id)
        # Round trips to the jsii kernel are most of a grant's synth cost (bench/synth_bench.py counts them): each
        # value's Token.is_unresolved is asked once (Prop), and a grant declared right in its stack skips Stack.of,
        # which would answer the scope itself.
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        handler = PermissionHandler.of(stack)
        bad_arn = layer_problems(arn)
        bad_removal = removal_policy_problems(removal_policy)
        problems = [
            *bad_arn,
            *grant_problems(grantee, organization, sid, allow_all_accounts),
            *retention_problems(keep_versions),
            *bad_removal,
        ]
        target = target_for(str(arn.value), known=arn.known, defined_in_same_stack=_defined_in(layer_version, stack))
        grant = {
            "LayerName": target.layer_name,
            "VersionNumber": target.version_number,
            "StatementId": sid.value,
            "Principal": principal,
            # No Action: lambda:GetLayerVersion is the only value Lambda accepts, and the handler's default.
            **({"OrganizationId": organization_id} if organization_id is not None else {}),
            **({"KeepVersions": str(keep_versions)} if keep_versions is not None else {}),
            "RevokeRetainedOnDelete": "true" if revoke_retained_on_delete else "false",
        }
        self._resource = CfnResource(
            self,
            "Resource",
            type=RESOURCE_TYPE,
            # A string, as CloudFormation sends every property.
            properties={"ServiceToken": handler.service_token, "ServiceTimeout": str(SERVICE_TIMEOUT_SECONDS), **grant},
        )
        # CloudFormation's record repeats the grant, with its intrinsics resolved: the cleanup Delete of a replaced
        # copy reads the live grant's window there (DescribeStackResource), as its own event carries the old one.
        self._resource.add_metadata(GRANT_METADATA, grant)
        # The UpdateReplacePolicy, then the DeletionPolicy alone. A new layer version is a new PhysicalResourceId,
        # so CloudFormation replaces the grant; its cleanup Delete of the old one lets the handler prune the
        # versions past keep_versions. Only keeping every version and revoking nothing more on delete needs no
        # handler: CloudFormation then simply keeps the old grant.
        retention = keep_versions is not None or revoke_retained_on_delete
        self._resource.apply_removal_policy(RemovalPolicy.DESTROY if retention else RemovalPolicy.RETAIN)
        # CDK itself would throw at SNAPSHOT, without naming the prop; the problem is reported instead.
        self._resource.apply_removal_policy(
            RemovalPolicy.DESTROY if bad_removal else removal_policy,
            default=RemovalPolicy.DESTROY,
            apply_to_update_replace_policy=False,
        )
        self.pointer: LayerVersionPointer | None = None
        """The pointer that `publish_pointer` asks for."""
        if not bad_arn:
            problems += self._check_in_app(
                handler, GrantFacts(self, arn, sid, grantee, organization, handler.stack_path)
            )
        if publish_pointer is not None and not bad_arn:
            audience = Audience((), (organization,)) if organization is not None else Audience((grantee,), ())
            self.pointer, pointer_problems = LayerVersionPointer.publish(
                self, publish_pointer, version_arn=arn, audience=audience, grants=[self._resource]
            )
            problems += pointer_problems
        if problems:
            self.node.add_validation(Problems(type(self).__name__, problems))

    def _check_in_app(self, handler: PermissionHandler, grant: GrantFacts) -> list[str]:
        """Allow the handler on the layer, and check this grant against the stack and the rest of the app."""
        permission = handler.iam_policies.allow(grant.version_arn)
        # CloudFormation then deletes (revokes) the grant before the policy that allows the revoke.
        self._resource.add_resource_dependency(permission.policy)
        findings = handler.index.add(grant)
        for warning in findings.warnings:
            Annotations.of(self).add_warning_v2(warning.acknowledgment_id, warning.message)
        problems = [account_problem(grant.version_arn, handler.account, handler.stack_path), permission.problem]
        return [*findings.errors, *(problem for problem in problems if problem is not None)]

    @property
    def ref(self) -> str:
        """The PhysicalResourceId: `<LayerVersionArn>#<StatementId>#<RevisionId>`."""
        return self._resource.ref

    @property
    def statement_id(self) -> str:
        return self._attribute("StatementId")

    @property
    def statement(self) -> str:
        """The statement as Lambda stored it, a JSON string."""
        return self._attribute("Statement")

    @property
    def revision_id(self) -> str:
        """The layer version policy's RevisionId after the grant."""
        return self._attribute("RevisionId")

    @property
    def layer_version_arn(self) -> str:
        return self._attribute("LayerVersionArn")

    def _attribute(self, name: str) -> str:
        return Token.as_string(self._resource.get_att(name))


class LayerVersionSharing(Construct):
    """Share one layer version with several accounts and organizations at once.

    Creates one LayerVersionPermission per principal, named after it (`Account<id>`, `Organization<id>`),
    so removing an account from the list revokes that account's grant and touches no other. The principals
    must therefore be concrete values; for a principal known only at deploy time use LayerVersionPermission.

    `publish_pointer=PointerOptions(...)` publishes the layer version's ARN in one SSM parameter, shared through
    AWS RAM with exactly these accounts and organizations, and moved to each new version after all its grants exist.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        layer_version: lambda_.ILayerVersion | None = None,
        layer_version_arn: str | None = None,
        accounts: Sequence[str] | None = None,
        organization_ids: Sequence[str] | None = None,
        keep_versions: int | None = None,
        revoke_retained_on_delete: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        publish_pointer: PointerOptions | None = None,
    ) -> None:
        super().__init__(scope, id)
        # None is "not given", as for any optional CDK prop.
        accounts = () if accounts is None else accounts
        organization_ids = () if organization_ids is None else organization_ids
        arn = named_layer_version(self, layer_version, layer_version_arn)
        bad_arn = layer_problems(arn)
        problems = [
            *bad_arn,
            *list_problems("accounts", "Principal", accounts),
            *list_problems("organization_ids", "OrganizationId", organization_ids),
            *removal_policy_problems(removal_policy),
        ]
        audience = Audience(
            [Prop.read(f"accounts[{index}]", account) for index, account in enumerate(accounts)],
            [
                Prop.read(f"organization_ids[{index}]", organization)
                for index, organization in enumerate(organization_ids)
            ],
        )
        if problems:
            # The grants would repeat these problems; synth stops anyway, so none is declared.
            accounts, organization_ids = (), ()
        elif not accounts and not organization_ids:
            Annotations.of(self).add_warning_v2(
                EMPTY_SHARING_WARNING,
                "LayerVersionSharing has no accounts and no organization_ids, so it shares nothing; "
                "list the principals to share with, or remove it",
            )
        common: dict[str, Any] = {
            "layer_version": layer_version,
            "layer_version_arn": layer_version_arn,
            "keep_versions": keep_versions,
            "revoke_retained_on_delete": revoke_retained_on_delete,
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
        self.pointer: LayerVersionPointer | None = None
        """The pointer that `publish_pointer` asks for."""
        if publish_pointer is not None and not bad_arn:
            grants = [cast(CfnResource, permission.node.default_child) for permission in self.permissions]
            self.pointer, pointer_problems = LayerVersionPointer.publish(
                self, publish_pointer, version_arn=arn, audience=audience, grants=grants
            )
            problems += pointer_problems
        if problems:
            self.node.add_validation(Problems(type(self).__name__, problems))


def named_layer_version(
    construct: Construct, layer_version: lambda_.ILayerVersion | None, layer_version_arn: str | None
) -> Prop:
    """The ARN of the layer version, as the prop that names it. A call that names it wrongly fails at once."""

    def where() -> str:
        return f"{type(construct).__name__} {construct.node.path}"

    if isinstance(layer_version, str):
        raise TypeError(
            f"{where()}: layer_version takes an aws_lambda.ILayerVersion, got the string {quote(layer_version)}; "
            f"pass an ARN as layer_version_arn={quote(layer_version)}"
        )
    if (layer_version is None) == (layer_version_arn is None):
        raise TypeError(
            f"{where()}: pass exactly one of layer_version (an aws_lambda.ILayerVersion) and layer_version_arn "
            f"({ARN_SHAPE}), got {'both' if layer_version is not None else 'neither'}"
        )
    if layer_version is None:
        return Prop.read("layer_version_arn", layer_version_arn)
    arn = getattr(layer_version, "layer_version_arn", None)
    if arn is None:
        raise TypeError(
            f"{where()}: layer_version takes an aws_lambda.ILayerVersion, got {type(layer_version).__name__}; "
            "pass an ARN as layer_version_arn"
        )
    return Prop.read("layer_version", arn)


def _defined_in(layer_version: lambda_.ILayerVersion | None, stack: Stack) -> bool:
    return isinstance(layer_version, lambda_.LayerVersion) and Stack.of(layer_version) is stack
