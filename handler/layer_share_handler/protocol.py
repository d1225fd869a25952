"""The shapes CloudFormation and Lambda hand the handler, and the response it sends back, as types."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Protocol, TypedDict

RequestType = Literal["Create", "Update", "Delete"]


class CloudFormationEvent(TypedDict):
    """A custom resource request. Every property value arrives as a string, whatever the template said."""

    RequestType: RequestType
    ServiceToken: str
    ResponseURL: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    ResourceType: str
    ResourceProperties: dict[str, Any]
    PhysicalResourceId: NotRequired[str]  # Update and Delete only
    OldResourceProperties: NotRequired[dict[str, Any]]  # Update only


class CloudFormationResponse(TypedDict):
    """The body PUT to the ResponseURL."""

    Status: Literal["SUCCESS", "FAILED"]
    Reason: str
    PhysicalResourceId: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    NoEcho: bool
    Data: dict[str, str]


class LambdaContext(Protocol):
    """The parts of Lambda's context object that the handler uses."""

    @property
    def invoked_function_arn(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...
