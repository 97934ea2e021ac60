"""Loading an architecture by preset name or file (our JSON or PyTorch `net.config`), and saving."""

from __future__ import annotations

import os
import re

from proxyless_tf.arch.config import ArchConfigError
from proxyless_tf.arch.presets import get_preset, preset_names
from proxyless_tf.utils.files import atomic_write_text
from proxyless_tf.utils.json_input import read_json


def load_arch(name_or_path: str):
  """A preset name, or a path to an arch JSON in any family's formats (ours, or the original
  PyTorch code's `net.config`): that family's config (`families/`)."""
  from proxyless_tf.families import read_config
  names = preset_names()
  if name_or_path in names:
    return get_preset(name_or_path)
  if not os.path.exists(name_or_path):
    raise ArchConfigError(f"'{name_or_path}' is neither a known network ({', '.join(names)}) "
                          "nor an existing arch JSON file")
  data = read_json(name_or_path, "arch file", ArchConfigError)
  try:
    return read_config(data, name=_name_from_file(name_or_path))
  except ArchConfigError as e:
    raise ArchConfigError(f"{name_or_path}: {e}") from None


def _name_from_file(path: str) -> str | None:
  """A net.config has no name of its own: its file's (made a valid name), unless it is `net`."""
  stem = os.path.splitext(os.path.basename(path))[0]
  name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip("_.-")[:128]
  return None if stem == "net" or not name else name


def save_arch(config, path: str) -> None:
  atomic_write_text(path, config.to_json() + "\n")
