"""Share Lambda layer versions with accounts and organizations, and revoke exactly what was granted.

One handler function per stack serves every grant in it.
"""

from .permission import LayerVersionPermission, LayerVersionSharing

__all__ = ["LayerVersionPermission", "LayerVersionSharing"]
