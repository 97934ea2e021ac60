"""Architecture configs: the format, the published networks, counting, and PyTorch interop."""

from proxyless_tf.arch.config import ArchConfigError, make_divisible
from proxyless_tf.arch.io import load_arch, save_arch
from proxyless_tf.arch.presets import get_preset, preset_names
# the MBConv family's config, importable from here as before it moved into its folder
from proxyless_tf.families.mbconv.config import MBCONV, ZERO, ArchConfig, Block

__all__ = ["MBCONV", "ZERO", "ArchConfig", "ArchConfigError", "Block", "get_preset",
           "is_net_config", "load_arch", "make_divisible", "preset_names",
           "save_arch"]


def is_net_config(value) -> bool:
  """An architecture of any family: what `build_model`, `train` and `save_arch` take."""
  from proxyless_tf.families import is_net_config as of_a_family
  return of_a_family(value)
