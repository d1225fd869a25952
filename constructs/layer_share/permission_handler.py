"""The one handler function per stack that every LayerVersionPermission in the stack uses."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Aws, Duration, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from layer_share_handler import ENTRY_POINT

from .asset import handler_code
from .grant_index import GrantIndex
from .handler_iam import HandlerIamPolicies

DESCRIBE_STACK_RESOURCE = "cloudformation:DescribeStackResource"


class PermissionHandler(Construct):
    """Function, role and log group, created once per stack by the first grant in it.

    Customise it with CDK's own mechanisms on `PermissionHandler.of(stack)`: `log_group` (retention, removal
    policy), `function` and `role`, `Tags.of(...)`, `iam.PermissionsBoundary.of(...)`.
    """

    CONSTRUCT_ID = "LayerVersionPermissionHandler"

    @classmethod
    def of(cls, stack: Stack) -> PermissionHandler:
        """The stack's handler, created on first use."""
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is None:
            return cls(stack, cls.CONSTRUCT_ID)
        if not isinstance(existing, PermissionHandler):
            raise TypeError(
                f"{stack.node.path}/{cls.CONSTRUCT_ID} is a {type(existing).__name__}, but layer_share keeps the "
                "stack's handler under that id; give your construct another id"
            )
        return existing

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        # The log records every grant and revocation, so it outlives the stack (LogGroup's default removal
        # policy, RETAIN); retention still expires the events.
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_YEAR)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Grants and revokes Lambda layer version permissions for CloudFormation",
        )
        self.log_group.grant_write(self.role)
        self._allow_reading_the_stacks_record(Stack.of(scope))
        self.function = lambda_.Function(
            self,
            "Function",
            description="Custom::LayerVersionPermission: shares Lambda layer versions with accounts and organizations",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=ENTRY_POINT,
            code=handler_code(),
            # CPU comes with memory, and a cold start is CPU-bound: bench/RESULTS.md weighs the first response's
            # latency against GB-seconds per memory size. The handler sizes its calls to any timeout.
            memory_size=1024,
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=self.log_group,
        )
        self.service_token = self.function.function_arn
        # The construct id predates the class name; it stays, as it is part of every policy's logical ID.
        self.iam_policies = HandlerIamPolicies(self, "LayerPolicies", self.role)
        # What every grant in the stack checks itself against.
        self.index = GrantIndex.of(scope)
        self.stack_path = scope.node.path
        account = Stack.of(scope).account
        self.account: str | None = None if Token.is_unresolved(account) else account

    def _allow_reading_the_stacks_record(self, stack: Stack) -> None:
        """A Delete asks CloudFormation's record of its own stack whether it is a cleanup or the end of the grant
        (DescribeStackResource): allowed on this stack alone, whose ID ends in a suffix known only at deploy."""
        this_stack = stack.format_arn(service="cloudformation", resource="stack", resource_name=f"{Aws.STACK_NAME}/*")
        self.role.add_to_policy(iam.PolicyStatement(actions=[DESCRIBE_STACK_RESOURCE], resources=[this_stack]))
        finding = f"AwsSolutions::AwsSolutions-IAM5[Resource::{_as_cdk_nag_renders(stack.resolve(this_stack))}]"
        Validations.of(self.role).acknowledge(
            Acknowledgment(id=finding, reason="The stack's own ID: its suffix is made by CloudFormation at deploy.")
        )


def _as_cdk_nag_renders(arn: str | dict[str, Any]) -> str:
    """An ARN as cdk-nag names it in a finding: a Fn::Join's parts joined, a pseudo parameter as <AWS::Name>."""
    if isinstance(arn, str):
        return arn
    delimiter, parts = arn["Fn::Join"]
    return str(delimiter).join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)
