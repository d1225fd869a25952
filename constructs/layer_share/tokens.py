"""Tell tokens from concrete values, without a round trip to the jsii kernel for a plain string."""

from __future__ import annotations

from typing import Any

from aws_cdk import Token

# Every token the CDK encodes in a string contains this marker, and Token.is_unresolved answers False for a
# string without it before looking further; each call costs a round trip to the jsii kernel, a grant several.
_TOKEN_MARKER = "Token["


def is_unresolved(value: Any) -> bool:
    """Token.is_unresolved, answered here for a string that cannot hold a token."""
    if isinstance(value, str) and _TOKEN_MARKER not in value:
        return False
    return Token.is_unresolved(value)
