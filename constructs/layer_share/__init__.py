"""Share Lambda layer versions with accounts and organizations, and revoke exactly what was granted.

One handler function per stack serves every grant in it: `PermissionHandler.of(stack)`. A grant may also publish a
pointer to the version it shares (`publish_pointer=PointerOptions(...)`), which consumers read with
`SharedLayer.latest`.
"""

from .permission import LayerVersionPermission, LayerVersionSharing
from .permission_handler import PermissionHandler
from .pointer import LayerVersionPointer, PointerOptions, SharedLayer

__all__ = [
    "LayerVersionPermission",
    "LayerVersionPointer",
    "LayerVersionSharing",
    "PermissionHandler",
    "PointerOptions",
    "SharedLayer",
]
