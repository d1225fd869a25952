"""A tiny module for the example app's demo layer; functions that use the layer import it."""


def greeting(name: str) -> str:
    return f"Hello from a shared layer, {name}"
