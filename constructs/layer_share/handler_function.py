"""The one handler function per stack that every LayerVersionPermission in the stack uses."""

from __future__ import annotations

import weakref
from typing import cast

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from layer_share_handler import ENTRY_POINT

from .asset import handler_code
from .target import LayerTarget, all_versions_arn

# Everything the handler calls; Lambda authorizes each against the layer version ARN.
HANDLER_ACTIONS = (
    "lambda:AddLayerVersionPermission",
    "lambda:GetLayerVersionPolicy",
    "lambda:RemoveLayerVersionPermission",
)

# Each stack's handler, so that a grant finds it without a round trip to the jsii kernel. Keyed by the stack
# itself, so no app or stack ever sees another's handler, and weakly, so the map holds no stack alive.
_HANDLERS: weakref.WeakKeyDictionary[Stack, PermissionHandler] = weakref.WeakKeyDictionary()


class PermissionHandler(Construct):
    """Function, role and log group, created once per stack by the first grant that needs them."""

    CONSTRUCT_ID = "LayerVersionPermissionHandler"

    @classmethod
    def of(cls, stack: Stack) -> PermissionHandler:
        """The stack's handler, created by the first grant in it."""
        handler = _HANDLERS.get(stack)
        if handler is None:
            handler = _HANDLERS[stack] = cls(stack, cls.CONSTRUCT_ID)
        return handler

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        # The log records every grant and revocation, so it outlives the stack (LogGroup's default removal
        # policy, RETAIN); retention still expires the events.
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_YEAR)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Grants and revokes Lambda layer version permissions for CloudFormation",
        )
        log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Custom::LayerVersionPermission: shares Lambda layer versions with accounts and organizations",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=ENTRY_POINT,
            code=handler_code(),
            # CPU comes with memory, and a cold start is CPU-bound: at 1,024 MB it answers in about 1 s instead of
            # 7 s at 128 MB, for about 15% more GB-seconds (bench/RESULTS.md). The handler sizes its calls to any
            # timeout; 60 s leaves 46 s for calls and retries after the response's delivery bound.
            memory_size=1024,
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=log_group,
        )
        # Read once: every grant in the stack sends it, and each read is a round trip to the jsii kernel.
        self.service_token: str = self.function.function_arn
        self._policies: dict[tuple[str, bool], CfnResource] = {}

    def allow(self, grant: Construct, target: LayerTarget, all_versions: bool) -> CfnResource:
        """The policy that lets the function manage permissions on the target, shared by all grants on it.

        Each layer version gets its own AWS::IAM::Policy, owned by its first grant, and every grant on it must
        depend on it. When the last grant on a version leaves the template, CloudFormation then deletes the grant
        (revoking it) before the policy. With one role policy for all grants, the update phase would already have
        removed the ARN, and the revoke in the cleanup phase would be denied; CloudFormation ignores cleanup
        failures, so the grant would silently stay.

        `all_versions` names every version of the layer instead: needed to revoke a grant on a version that a
        replacement has already dropped from the template.

        Returns the policy's AWS::IAM::Policy resource, for the grant's DependsOn.
        """
        key = (target.version_arn, all_versions)
        if key not in self._policies:
            resource = all_versions_arn(target.version_arn) if all_versions else target.version_arn
            policy = iam.Policy(
                grant,
                "HandlerPolicy",
                roles=[self.role],
                statements=[iam.PolicyStatement(actions=list(HANDLER_ACTIONS), resources=[resource])],
            )
            self._policies[key] = cast(iam.CfnPolicy, policy.node.default_child)
        return self._policies[key]
