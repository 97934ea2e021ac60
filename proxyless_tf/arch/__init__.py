"""Architecture configs: the format, the published networks, counting, and PyTorch interop."""

from proxyless_tf.arch.config import (MBCONV, ZERO, ArchConfig, ArchConfigError, Block,
                                      make_divisible)
from proxyless_tf.arch.io import load_arch, save_arch
from proxyless_tf.arch.presets import PRESETS, get_preset, mobilenet_v2

__all__ = ["MBCONV", "ZERO", "ArchConfig", "ArchConfigError", "Block", "PRESETS", "get_preset",
           "load_arch", "make_divisible", "mobilenet_v2", "save_arch"]
