"""Lambda handler for Custom::LayerVersionPermission; packaged on its own as the function's code asset."""

# The function's Handler setting: module path and function name inside the asset.
ENTRY_POINT = "layer_share_handler.entry.handler"
