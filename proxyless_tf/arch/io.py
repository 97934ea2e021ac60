"""Loading an architecture by preset name or file (our JSON or PyTorch `net.config`), and saving."""

from __future__ import annotations

import os
import re

from proxyless_tf.arch.config import ArchConfig, ArchConfigError, from_dict
from proxyless_tf.arch.presets import PRESETS, get_preset
from proxyless_tf.arch.pytorch_interop import from_pytorch_config, is_pytorch_config
from proxyless_tf.arch.tree import is_tree_dict, tree_from_dict
from proxyless_tf.arch.tree_original import from_original, is_original_tree
from proxyless_tf.utils.files import atomic_write_text
from proxyless_tf.utils.json_input import read_json


def load_arch(name_or_path: str):
  """A preset name, a path to our arch JSON (either family), or a path to a PyTorch `net.config` or
  `PyramidTreeNet` config: an `ArchConfig` or a `TreeNetConfig`."""
  if name_or_path in PRESETS:
    return get_preset(name_or_path)
  if not os.path.exists(name_or_path):
    raise ArchConfigError(f"'{name_or_path}' is neither a known network ({', '.join(sorted(PRESETS))}) "
                          "nor an existing arch JSON file")
  data = read_json(name_or_path, "arch file", ArchConfigError)
  try:
    if is_pytorch_config(data):
      return from_pytorch_config(data, name=_name_from_file(name_or_path))
    if is_original_tree(data):
      return from_original(data, name=_name_from_file(name_or_path))
    if is_tree_dict(data):
      return tree_from_dict(data)
    return from_dict(data)
  except ArchConfigError as e:
    raise ArchConfigError(f"{name_or_path}: {e}") from None


def _name_from_file(path: str) -> str | None:
  """A net.config has no name of its own: its file's (made a valid name), unless it is `net`."""
  stem = os.path.splitext(os.path.basename(path))[0]
  name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip("_.-")[:128]
  return None if stem == "net" or not name else name


def save_arch(config: ArchConfig, path: str) -> None:
  atomic_write_text(path, config.to_json() + "\n")
