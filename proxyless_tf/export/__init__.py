"""Export: Keras model -> SavedModel + TFLite (float, dynamic, int8), each checked against Keras."""
from proxyless_tf.utils.callable_module import make_callable  # noqa: E402

make_callable(__name__, "proxyless_tf.api:export")  # ptf.export(...): see proxyless_tf.api.export
