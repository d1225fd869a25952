"""The handler role's permissions on layers: a few managed policies, each naming whole layers.

Why this shape:
- A grant's revoke must keep its permission until CloudFormation has run it. Removing the last grant on a layer
  happens in the cleanup phase, after every update; a policy updated in place to drop the layer would already
  deny the revoke, and CloudFormation ignores failures in that phase, so the grant would silently stay.
  So a policy is never updated in place when its layers change: its Description carries a digest of the layers,
  and Description is create-only, so CloudFormation replaces it (creates the new one during the update, deletes
  the old one in the cleanup phase, after the grants that depended on it).
- Whole layers (`...:layer:<name>:*`, and `...:layer:<name>` to list its versions), not versions: a new version of
  a shared layer then changes no policy, and the handler can revoke a grant on a version that the template no
  longer names (`keep_versions`, and revoking on delete). Every version of a layer the stack declares, and nothing
  else.
- Each layer goes into one of `SHARDS` policies by a hash of its ARN, so adding or removing a layer touches one
  policy, and the grants' DependsOn never change. Managed rather than inline policies: IAM caps a role's inline
  policies at 10,240 characters in all, about 40 layers; each managed policy holds 6,144.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import Acknowledgment, IStableAnyProducer, IStableStringProducer, Lazy, Stack, Validations
from aws_cdk import aws_iam as iam

from constructs import Construct
from layer_share_handler.rules import RULES

from .layer_arns import all_versions_arn, layer_arn
from .validation import Prop

# Everything the handler calls. Lambda authorizes the policy calls against the layer version ARN, and the listing
# of a layer's versions (for keep_versions and for revoking on delete) against the layer ARN.
HANDLER_ACTIONS = (
    "lambda:AddLayerVersionPermission",
    "lambda:GetLayerVersionPolicy",
    "lambda:ListLayerVersions",
    "lambda:RemoveLayerVersionPermission",
)
# A replacement attaches the new policy before the old one goes, so a deployment may hold twice as many for a
# moment: 2 x 4 stays inside IAM's default quota of 10 managed policies per role.
SHARDS = 4
# IAM's quota for one managed policy, counted without whitespace.
MANAGED_POLICY_LIMIT = 6_144
# Synth stops well before IAM would: token ARNs are only estimated.
DESIGN_LIMIT = MANAGED_POLICY_LIMIT * 9 // 10
# A layer ARN known only at deploy time is counted at the longest LayerName allows, plus ':*' and its quotes.
TOKEN_RESOURCE_LENGTH = RULES["LayerName"].max_length + len(':*""')
IAM5_REASON = (
    "The handler may manage the policies of every version of the layers this stack declares, and of no other "
    "layer: it must revoke grants on versions the template no longer names, and a new layer version must not "
    "change the role's policies."
)
LITERAL_REASON = (
    "The only '*' here is CloudFormation's text that turns any '*' in the layer ARN, known only at deploy time, into "
    "IAM's literal '${*}', so that this resource names one layer and never a wildcard."
)


def compact_size(document: Any) -> int:
    """Characters as IAM counts them: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


@dataclass
class _Shard:
    size: int  # estimated, without whitespace
    resources: dict[str, str] = field(default_factory=dict)  # canonical JSON of the resource -> the resource
    policy: iam.CfnManagedPolicy = field(init=False)

    @property
    def layers(self) -> int:
        return len(self.resources) // 2  # each layer's versions, and the layer itself

    def document(self) -> dict[str, Any]:
        return _document([self.resources[key] for key in sorted(self.resources)])

    def description(self) -> str:
        digest = hashlib.sha256("\n".join(sorted(self.resources)).encode()).hexdigest()[:16]
        return f"Lets the stack's layer-version-permission handler share these layers ({digest})"


@dataclass(frozen=True)
class LayerPermission:
    """The policy that allows the handler on a layer, and why it cannot, if it cannot."""

    policy: iam.CfnManagedPolicy
    problem: str | None


class HandlerIamPolicies(Construct):
    """The handler's managed policies on layers, created as layers appear."""

    def __init__(self, scope: Construct, id: str, role: iam.IRole) -> None:
        super().__init__(scope, id)
        self._stack = Stack.of(self)
        self._role_name = role.role_name
        self._shards: dict[int, _Shard] = {}
        self._by_version_arn: dict[str, LayerPermission] = {}

    def allow(self, version_arn: Prop) -> LayerPermission:
        """Allow the handler on every version of this layer version's layer; the grant must depend on the policy."""
        permission = self._by_version_arn.get(version_arn.value)
        if permission is None:
            every_version = all_versions_arn(version_arn.value, known=version_arn.known)
            layer = layer_arn(version_arn.value, known=version_arn.known)
            permission = self._add_layer(every_version, layer, version_arn.known)
            self._by_version_arn[version_arn.value] = permission
        return permission

    def _add_layer(self, every_version: str, layer: str, known: bool) -> LayerPermission:
        unresolved = not known
        resolved = self._stack.resolve(every_version) if unresolved else every_version
        key = json.dumps(resolved, sort_keys=True) if unresolved else every_version
        index = int(hashlib.sha256(key.encode()).hexdigest(), 16) % SHARDS
        shard = self._shards.get(index) or self._new_shard(index)
        if key not in shard.resources:
            resolved_layer = self._stack.resolve(layer) if unresolved else layer
            layer_key = json.dumps(resolved_layer, sort_keys=True) if unresolved else layer
            shard.resources[key], shard.resources[layer_key] = every_version, layer
            for resource in (every_version, layer):
                shard.size += (TOKEN_RESOURCE_LENGTH if unresolved else len(json.dumps(resource))) + 1
            # cdk-nag reports each resource with a '*' in its template text as its own finding.
            _acknowledge_iam5(shard.policy, resolved, IAM5_REASON)
            if unresolved:
                _acknowledge_iam5(shard.policy, resolved_layer, LITERAL_REASON)
        if shard.size <= DESIGN_LIMIT:
            return LayerPermission(shard.policy, None)
        return LayerPermission(
            shard.policy,
            f"the handler's IAM policy {shard.policy.node.path} would reach about {shard.size:,} characters with "
            f"{shard.layers} layers, past {DESIGN_LIMIT:,} (90% of IAM's {MANAGED_POLICY_LIMIT:,} per "
            f"managed policy); this stack's grants name {self.layer_count} layers in all. Move some layers' grants "
            "to another stack",
        )

    @property
    def layer_count(self) -> int:
        return sum(shard.layers for shard in self._shards.values())

    def _new_shard(self, index: int) -> _Shard:
        # Rendered at synth, once every grant has named its layer.
        shard = _Shard(size=compact_size(_document([])) - 1)
        shard.policy = iam.CfnManagedPolicy(
            self,
            f"Shard{index}",
            policy_document=Lazy.any(_Produce(shard.document)),
            # Create-only: a new set of layers replaces the policy, so the old one outlives the revokes that need it.
            description=Lazy.string(_Produce(shard.description)),
            roles=[self._role_name],
        )
        self._shards[index] = shard
        return shard


def _acknowledge_iam5(policy: iam.CfnManagedPolicy, resource: Any, reason: str) -> None:
    finding = f"AwsSolutions::AwsSolutions-IAM5[Resource::{_as_cdk_nag_renders(resource)}]"
    Validations.of(policy).acknowledge(Acknowledgment(id=finding, reason=reason))


def _as_cdk_nag_renders(resource: Any) -> str:
    """A resource as cdk-nag names it in a finding (its flattenCfnReference): Fn::Join's parts joined, Fn::Sub's
    argument, Ref and Fn::GetAtt in angle brackets, `${...}` in a string as `<...>`, anything else as compact JSON."""
    if isinstance(resource, str):
        return resource.replace("${", "<").replace("}", ">")
    if isinstance(resource, dict) and len(resource) == 1:
        ((function, argument),) = resource.items()
        if function == "Fn::Join" and isinstance(argument[1], list):
            return str(argument[0]).join(_as_cdk_nag_renders(part) for part in argument[1])
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return _as_cdk_nag_renders(argument)
        if function == "Fn::GetAtt":
            return f"<{_as_cdk_nag_renders(argument[0])}.{_as_cdk_nag_renders(argument[1])}>"
        if function == "Ref":
            return f"<{_as_cdk_nag_renders(argument)}>"
    return json.dumps(resource, separators=(",", ":"))


def _document(resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(HANDLER_ACTIONS), "Resource": resources}],
    }


@jsii.implements(IStableAnyProducer, IStableStringProducer)
class _Produce:
    """A value computed when the template is rendered, the same however often."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()
