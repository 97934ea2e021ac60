"""Every family's published networks, by name (each family lists its own: `Family.presets`)."""

from __future__ import annotations

from proxyless_tf.arch.config import ArchConfigError


def preset_names() -> list[str]:
  """Every family's published nets."""
  from proxyless_tf.families import all_presets
  return sorted(all_presets())


def get_preset(name: str):
  """A published net of any family by name."""
  from proxyless_tf.families import all_presets
  presets = all_presets()
  if name not in presets:
    raise ArchConfigError(f"unknown network '{name}'; known: {', '.join(sorted(presets))}")
  return presets[name]()
