"""The model families, found through one registry: shared code asks here, never names one.

A family is a folder (`families/NAME/`) whose `__init__` defines `FAMILY`, a `base.Family`: its
config type and formats, presets, search spaces, builders (plain net and supernet), cost ops,
stats, drawing and export rewrites. Shared code (arch loading, model building, supernet, latency,
export, search) dispatches on the family a config or space names in its `family` field (an arch
JSON without one is the MBConv family: keras-hub's `from_preset` habit of dispatching on the
saved config). Adding a family is a folder plus one line in `_MODULES`.

The family modules are imported by name on first use, so this registry imports none of them at
its own import (they import it freely: no import circle).
"""

from __future__ import annotations

import importlib

# One line per family: its name (what configs and spaces carry as `family`) -> its module.
_MODULES = {
    "mbconv": "proxyless_tf.families.mbconv",
    "mobilenet_v3": "proxyless_tf.families.mobilenet_v3",
    "pyramid_tree": "proxyless_tf.families.pyramid_tree",
}
DEFAULT = "mbconv"  # a config or space with no `family` field
_LOADED: dict = {}
_BY_OP_KIND: dict = {}


def get_family(name: str | None):
  """The family registered under `name` (None: the default, MBConv)."""
  name = name or DEFAULT
  if name not in _LOADED:
    if name not in _MODULES:
      from proxyless_tf.errors import UserError
      raise UserError(f"unknown model family {name!r}; known: {', '.join(sorted(_MODULES))}")
    _LOADED[name] = importlib.import_module(_MODULES[name]).FAMILY
  return _LOADED[name]


def families() -> list:
  """Every registered family, the default first."""
  return [get_family(name) for name in sorted(_MODULES, key=lambda n: (n != DEFAULT, n))]


def family_of(obj):
  """The family of a net config, a search space or a latency op (by its `family` field)."""
  return get_family(getattr(obj, "family", None))


def family_of_op_kind(kind: str):
  """The family whose cost ops include `kind` (a latency table op's kind); remembered per kind,
  since every `OpSpec.key` asks."""
  if kind not in _BY_OP_KIND:
    owner = next((family for family in families() if kind in family.op_kinds), None)
    if owner is None:
      raise KeyError(f"no family has latency ops of kind {kind!r}")
    _BY_OP_KIND[kind] = owner
  return _BY_OP_KIND[kind]


def is_net_config(value) -> bool:
  """An architecture of any family: what `build_model`, `train` and `save_arch` take."""
  return any(isinstance(value, family.config_type) for family in families())


def all_presets() -> dict:
  """Every family's published nets: name -> a function that makes its config."""
  out = {}
  for family in families():
    out.update(family.presets())
  return out


def all_spaces() -> dict:
  """Every family's search spaces by name."""
  out = {}
  for family in families():
    out.update(family.spaces())
  return out


def read_config(data, name: str | None = None):
  """A net config from parsed JSON of any family's formats (ours, the original code's); the
  default family's reader last, as the fallback that reports what is wrong."""
  default, *others = families()
  for family in others + [default]:
    config = family.read(data, name)
    if config is not None:
      return config
  raise ValueError("the default family's reader returned nothing")


def register_layers() -> None:
  """Imports every family's Keras layers, so saved models of any family load by name."""
  for family in families():
    family.register_layers()


def model_family(model):
  """The family whose builder made `model`."""
  for family in families()[1:]:
    if family.owns_model(model):
      return family
  return get_family(DEFAULT)
