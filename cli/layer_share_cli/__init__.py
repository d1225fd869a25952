"""The `layer-share` command: try a synthesized app's grants against an embedded Lambda, verify deployed ones.

Nothing here is imported by the construct or the handler; `try` needs the `[local]` extra.
"""
