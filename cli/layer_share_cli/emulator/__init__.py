"""The emulator behind `layer-share try` and `layer-share standin`: CloudFormation's side of a deploy
(cloudformation.py), the faithful Lambda stand-in in a process of its own (standin.py, faithful_moto.py), the
handler run as Lambda runs it (lambda_runtime.py), the ResponseURL receiver (receiver.py), and the app's own layer
versions across synths (layers.py). Needs the [local] extra; nothing outside the command imports it.
"""
