"""proxyless_tf: ProxylessNAS for TensorFlow / Keras / TFLite."""

import os

# TensorFlow's C++ INFO lines drown the tool's own output; users can still set it to 0.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
