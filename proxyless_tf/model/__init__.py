"""Keras layers and the one builder from arch config to model."""

from proxyless_tf.model.builder import arch_from_model, build_model
from proxyless_tf.model.layers import ConvBNReLU, MBConv, ZeroBlock

__all__ = ["ConvBNReLU", "MBConv", "ZeroBlock", "arch_from_model", "build_model"]
