"""Resolve the intrinsic functions a grant's properties use, as CloudFormation would at deploy time.

Refs resolve to parameters (a given value, else the Default), pseudo parameters, and resources' physical IDs (a
layer version that `try` published, or a deployed stack's resources); Fn::GetAtt to the attributes known so, and
Fn::ImportValue and Fn::GetStackOutput to what the app's other stacks export and output. Fn::Join, Fn::Select,
Fn::Split and Fn::Sub are evaluated. Anything else stops with a message that names the token and what to pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

URL_SUFFIX = "amazonaws.com"
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# CloudFormation's own limit on nesting intrinsic functions is far below this; deeper is a malformed template.
MAX_DEPTH = 32


class Unresolvable(Exception):
    """A value that only a real deployment knows, or that no stack of the app provides."""


class MalformedTemplate(Exception):
    """An intrinsic function of a shape CloudFormation would reject."""


@dataclass
class AppValues:
    """What the stacks of one app provide to each other, filled in dependency order: exports by name, and each
    stack's outputs by (stack name, output name)."""

    exports: dict[str, Any] = field(default_factory=dict)
    outputs: dict[tuple[str, str], Any] = field(default_factory=dict)


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
    attributes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    app: AppValues = field(default_factory=AppValues)

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


def resolve(value: Any, values: StackValues, where: str, depth: int = 0) -> Any:
    """The value with every intrinsic function evaluated: a string, a number, a list of those."""
    if depth > MAX_DEPTH:
        raise MalformedTemplate(f"{where} nests intrinsic functions more than {MAX_DEPTH} deep")
    if isinstance(value, list):
        return [resolve(item, values, where, depth + 1) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
        return {name: resolve(item, values, where, depth + 1) for name, item in value.items()}
    [(function, argument)] = value.items()
    if function == "Ref":
        return values.ref(_expect(argument, str, function, where), where)
    if function == "Fn::GetAtt":
        return _get_att(argument, values, where)
    if function == "Fn::ImportValue":
        return _import_value(resolve(argument, values, where, depth + 1), values, where)
    if function == "Fn::GetStackOutput":
        return _stack_output(resolve(argument, values, where, depth + 1), values, where)
    if function == "Fn::Join":
        separator, items = _pair(argument, function, where)
        joined = resolve(items, values, where, depth + 1)
        return str(separator).join(as_sent(item, where) for item in _expect(joined, list, function, where))
    if function == "Fn::Select":
        index, items = _pair(resolve(argument, values, where, depth + 1), function, where)
        items = _expect(items, list, function, where)
        if not str(index).isdigit() or int(index) >= len(items):
            raise MalformedTemplate(f"{where}: Fn::Select index {index!r} is not an index of a list of {len(items)}")
        return items[int(index)]
    if function == "Fn::Split":
        separator, text = _pair(resolve(argument, values, where, depth + 1), function, where)
        return str(text).split(_expect(separator, str, function, where))
    if function == "Fn::Sub":
        return _substitute(argument, values, where, depth)
    raise Unresolvable(
        f"{where} needs {json.dumps(value)}, which only a real deployment can evaluate; "
        "give the value as a plain string or a parameter"
    )


def _expect(value: Any, kind: type, function: str, where: str) -> Any:
    if not isinstance(value, kind):
        raise MalformedTemplate(f"{where}: {function} expects a {kind.__name__}, got {json.dumps(value)[:80]}")
    return value


def _pair(argument: Any, function: str, where: str) -> tuple[Any, Any]:
    if not isinstance(argument, list) or len(argument) != 2:
        raise MalformedTemplate(f"{where}: {function} expects a list of two, got {json.dumps(argument)[:80]}")
    return argument[0], argument[1]


def _get_att(argument: Any, values: StackValues, where: str) -> Any:
    logical_id, attribute = (
        argument.split(".", 1) if isinstance(argument, str) else _pair(argument, "Fn::GetAtt", where)
    )
    if (logical_id, attribute) in values.attributes:
        return values.attributes[(logical_id, attribute)]
    token = json.dumps({"Fn::GetAtt": [logical_id, attribute]})
    raise Unresolvable(f"{where} needs {token}, which only a real deployment can evaluate")


def _import_value(name: Any, values: StackValues, where: str) -> Any:
    if name in values.app.exports:
        return values.app.exports[name]
    token = json.dumps({"Fn::ImportValue": name})
    raise Unresolvable(f"{where} needs {token}, which no stack of this app exports; pass --stack for its stack too")


def _stack_output(argument: Any, values: StackValues, where: str) -> Any:
    if not isinstance(argument, Mapping) or "StackName" not in argument or "OutputName" not in argument:
        raise MalformedTemplate(f"{where}: Fn::GetStackOutput expects StackName and OutputName, got {argument!r}")
    key = (str(argument["StackName"]), str(argument["OutputName"]))
    if key in values.app.outputs:
        return values.app.outputs[key]
    raise Unresolvable(f"{where} needs the output {key[1]} of the stack {key[0]}, which no stack of this app has")


def as_sent(value: Any, where: str) -> str:
    """CloudFormation sends every property value of a custom resource as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise Unresolvable(f"{where} is {json.dumps(value)}, not a single value")


def _substitute(argument: Any, values: StackValues, where: str, depth: int) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else _pair(argument, "Fn::Sub", where)
    if not isinstance(text, str) or not isinstance(variables, Mapping):
        raise MalformedTemplate(f"{where}: Fn::Sub expects a string and a map, got {json.dumps(argument)[:80]}")

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return as_sent(resolve(variables[name], values, where, depth + 1), where)
        if "." in name:
            return as_sent(_get_att(name, values, where), where)
        return as_sent(values.ref(name, where), where)

    return _SUB_VARIABLE.sub(replace, text)
