"""sigverify training: data readers, Siamese CNN, losses, evaluation, ONNX export.

Run ``python -m training --help``. Imports torch; the app (``sigverify.core``) never does.
"""
