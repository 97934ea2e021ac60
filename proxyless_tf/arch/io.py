"""Loading an architecture by preset name or file (our JSON or PyTorch `net.config`), and saving."""

from __future__ import annotations

import json
import os

from proxyless_tf.arch.config import ArchConfig, ArchConfigError, from_dict
from proxyless_tf.arch.presets import PRESETS, get_preset
from proxyless_tf.arch.pytorch_interop import from_pytorch_config, is_pytorch_config
from proxyless_tf.utils.files import atomic_write_text


def load_arch(name_or_path: str) -> ArchConfig:
  """A preset name, a path to our arch JSON, or a path to a PyTorch `net.config`."""
  if name_or_path in PRESETS:
    return get_preset(name_or_path)
  if not os.path.exists(name_or_path):
    raise ArchConfigError(f"'{name_or_path}' is neither a known network ({', '.join(sorted(PRESETS))}) "
                          "nor an existing arch JSON file")
  try:
    with open(name_or_path) as f:
      data = json.load(f)
  except json.JSONDecodeError as e:
    raise ArchConfigError(f"{name_or_path}: not valid JSON ({e.msg} at line {e.lineno})") from None
  try:
    if is_pytorch_config(data):
      stem = os.path.splitext(os.path.basename(name_or_path))[0]
      return from_pytorch_config(data, name=stem if stem != "net" else None)
    return from_dict(data)
  except ArchConfigError as e:
    raise ArchConfigError(f"{name_or_path}: {e}") from None


def save_arch(config: ArchConfig, path: str) -> None:
  atomic_write_text(path, config.to_json() + "\n")
