"""Share Lambda layer versions with accounts and organizations, and revoke exactly what was granted.

One handler function per stack serves every grant in it: `PermissionHandler.of(stack)`.
"""

from .handler_function import PermissionHandler
from .permission import LayerVersionPermission, LayerVersionSharing

__all__ = ["LayerVersionPermission", "LayerVersionSharing", "PermissionHandler"]
