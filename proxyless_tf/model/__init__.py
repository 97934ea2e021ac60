"""Keras layers and the one builder from arch config to model."""

from proxyless_tf.model.builder import arch_from_model, build_model
from proxyless_tf.model.layers import ConvBNReLU, MBConv, ZeroBlock

# every family's layers registered with Keras, so a saved model of any family loads by name
from proxyless_tf.families import register_layers  # noqa: E402

register_layers()

__all__ = ["ConvBNReLU", "MBConv", "ZeroBlock", "arch_from_model", "build_model"]
