"""Architecture configs: the format, the published networks, counting, and PyTorch interop."""

from proxyless_tf.arch.config import (MBCONV, ZERO, ArchConfig, ArchConfigError, Block,
                                      make_divisible)
from proxyless_tf.arch.io import load_arch, save_arch
from proxyless_tf.arch.presets import PRESETS, get_preset, mobilenet_v2

__all__ = ["MBCONV", "ZERO", "ArchConfig", "ArchConfigError", "Block", "PRESETS", "get_preset",
           "is_net_config", "load_arch", "make_divisible", "mobilenet_v2", "save_arch"]


def is_net_config(value) -> bool:
  """An architecture of any family: what `build_model`, `train` and `save_arch` take."""
  from proxyless_tf.arch.tree import TreeNetConfig
  return isinstance(value, (ArchConfig, TreeNetConfig))
