"""The regions each AWS partition has, as botocore's endpoint data lists them, read without importing botocore.

A synth must not import botocore (nor boto3, which the Lambda runtime provides), so its data file is located with
importlib's finder and read once. The list, rather than each partition's region pattern, is what catches a typo
such as `us-east-7`: the pattern accepts it. A region newer than the installed botocore is reported too, which is
why the finding is a warning that can be acknowledged.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from layer_share_handler.rules import quote

UNKNOWN_REGION_WARNING = "layer-share:UnknownRegion"


@dataclass(frozen=True)
class EndpointData:
    """Regions by partition, and the botocore release they come from."""

    botocore_version: str
    regions: Mapping[str, frozenset[str]]


@functools.cache
def endpoint_data() -> EndpointData | None:
    """botocore's `data/endpoints.json`, or None when botocore is not installed (the check is then skipped)."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location, "data", "endpoints.json")
        if path.is_file():
            break
    else:
        return None
    try:
        partitions = json.loads(path.read_text(encoding="utf-8"))["partitions"]
        version = importlib.metadata.version("botocore")
    except (OSError, ValueError, KeyError, importlib.metadata.PackageNotFoundError):
        return None
    return EndpointData(version, {entry["partition"]: frozenset(entry["regions"]) for entry in partitions})


def unknown_region(prop: str, version_arn: str) -> str | None:
    """Why the region of a concrete, valid layer version ARN has no Lambda endpoint; None if it does, or if unknown."""
    data = endpoint_data()
    if data is None:
        return None
    _, partition, _, region, *_ = version_arn.split(":")
    known = data.regions.get(partition)
    if known is not None and region in known:
        return None
    source = f"botocore {data.botocore_version}'s endpoint data"
    if known is None:
        where = (
            f"partition {quote(partition)}, which {source} does not know (it knows {', '.join(sorted(data.regions))})"
        )
    else:
        where = f"region {quote(region)}, which {source} does not list in partition {quote(partition)}"
        elsewhere = sorted(name for name, regions in data.regions.items() if region in regions)
        close = difflib.get_close_matches(region, sorted(known), n=3)
        if elsewhere:
            where += f" (it is in partition {quote(elsewhere[0])})"
        elif close:
            where += f" (did you mean {' or '.join(quote(name) for name in close)}?)"
    return (
        f"{prop}={quote(version_arn)} names {where}; Lambda has no endpoint there, so the grant would fail at deploy. "
        f"Correct the ARN, or, if the region is newer than botocore {data.botocore_version}, update botocore or "
        f"acknowledge this warning ({UNKNOWN_REGION_WARNING})"
    )
