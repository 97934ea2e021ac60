"""Net config -> Keras model (by its family's builder) and back. The MBConv family's layers are
importable from here too, as before they moved into `families/mbconv/layers.py`."""

from proxyless_tf.families.mbconv.layers import ConvBNReLU, MBConv, ZeroBlock
from proxyless_tf.model.builder import arch_from_model, build_model

# every family's layers registered with Keras, so a saved model of any family loads by name
from proxyless_tf.families import register_layers  # noqa: E402

register_layers()

__all__ = ["ConvBNReLU", "MBConv", "ZeroBlock", "arch_from_model", "build_model"]
