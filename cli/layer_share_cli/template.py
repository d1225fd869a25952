"""Resolve the intrinsic functions a grant's properties use, as CloudFormation would at deploy time.

Refs resolve to parameters (a given value, else the Default), pseudo parameters, and, for a deployed stack,
resources' physical IDs. Fn::Join, Fn::Select, Fn::Split and Fn::Sub are evaluated. Anything else stops with
a message that names the token and what to pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

URL_SUFFIX = "amazonaws.com"
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Unresolvable(Exception):
    """A value that only a real deployment knows."""


@dataclass(frozen=True)
class StackValues:
    """What one stack's Refs resolve to.

    `passed` holds the raw Parameters a parent stack passes to a nested one, resolved in `parent` when used,
    so that a nested stack only needs the parent values its grants read.
    """

    template: Mapping[str, Any]
    pseudo: Mapping[str, str]
    given: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, str] = field(default_factory=dict)
    passed: Mapping[str, Any] = field(default_factory=dict)
    parent: StackValues | None = None

    def ref(self, name: str, where: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            if name in self.given:
                return self.given[name]
            if name in self.passed and self.parent is not None:
                return resolve(self.passed[name], self.parent, where)
            if "Default" in parameters[name]:
                return parameters[name]["Default"]
            raise Unresolvable(
                f"{where} needs {{'Ref': '{name}'}}, the parameter {name}, which has no default; "
                f"pass --parameters {name}=VALUE"
            )
        if name in self.resources:
            return self.resources[name]
        if name in self.given:
            return self.given[name]
        resource_type = self.template.get("Resources", {}).get(name, {}).get("Type", "unknown type")
        raise Unresolvable(
            f"{where} needs {{'Ref': '{name}'}}, the in-stack resource {name} ({resource_type}), whose value exists "
            f"only once it is deployed; pass --parameters {name}=VALUE (for a layer version, its ARN), or name the "
            "layer version by its ARN in the app"
        )


def resolve(value: Any, values: StackValues, where: str) -> Any:
    """The value with every intrinsic function evaluated: a string, a number, a list of those."""
    if isinstance(value, list):
        return [resolve(item, values, where) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) != 1:
        return {name: resolve(item, values, where) for name, item in value.items()}
    [(function, argument)] = value.items()
    if function == "Ref":
        return values.ref(argument, where)
    if function == "Fn::Join":
        separator, items = argument
        return str(separator).join(as_sent(item, where) for item in resolve(items, values, where))
    if function == "Fn::Select":
        index, items = resolve(argument, values, where)
        return items[int(index)]
    if function == "Fn::Split":
        separator, text = resolve(argument, values, where)
        return str(text).split(separator)
    if function == "Fn::Sub":
        return _substitute(argument, values, where)
    raise Unresolvable(
        f"{where} needs {json.dumps(value)}, which only a real deployment can evaluate; "
        "give the value as a plain string or a parameter"
    )


def as_sent(value: Any, where: str) -> str:
    """CloudFormation sends every property value of a custom resource as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Unresolvable(f"{where} is {json.dumps(value)}, not a single value")


def _substitute(argument: Any, values: StackValues, where: str) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return as_sent(resolve(variables[name], values, where), where)
        if "." in name:
            raise Unresolvable(f"{where} needs ${{{name}}}, an attribute only a real deployment knows")
        return as_sent(values.ref(name, where), where)

    return _SUB_VARIABLE.sub(replace, text)
