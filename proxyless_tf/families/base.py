"""What a model family provides to the shared pipeline (`families/__init__.py` finds them).

Each hook is one thing the search, the builders, the latency tables or the export needs to know
about a kind of network; shared code calls the hook of the family a config or space names and
never asks which family it is. A family subclasses `Family` and sets `FAMILY` in its package.
"""

from __future__ import annotations


class Family:
  """A model family: configs, spaces, builders, cost ops. Subclasses fill in every hook."""

  name: str = ""
  config_type: type = type(None)  # its net config class (e.g. ArchConfig)
  op_kinds: tuple = ()  # the kinds of its latency-table ops (OpSpec.kind)
  table_space_fields: tuple = ()  # the space fields a latency table records (table_space.py)
  search_writes_original: bool = False  # a search also writes the original code's net config

  # -- configs and formats ---------------------------------------------------------------------

  def presets(self) -> dict:
    """Published nets: name -> function making the config."""
    return {}

  def read(self, data, name: str | None = None):
    """A config from parsed JSON in one of this family's formats, or None if it is not one."""
    raise NotImplementedError

  def to_original(self, config) -> dict:
    """The config in the original (PyTorch) code's format."""
    raise NotImplementedError

  # -- spaces and builders ---------------------------------------------------------------------

  def spaces(self) -> dict:
    """Search spaces by name."""
    return {}

  def build_model(self, config):
    """The plain functional Keras model of a config."""
    raise NotImplementedError

  def owns_model(self, model) -> bool:
    """Whether this family's builder made `model`."""
    raise NotImplementedError

  def arch_from_model(self, model):
    """The config back from a model this family built."""
    raise NotImplementedError

  def build_supernet(self, space, weight_sharing: str):
    raise NotImplementedError

  def candidate_from_config(self, value):
    """A mixed op's candidate from its `to_config()`, or None if it is not this family's."""
    return None

  # -- PyTorch weights (model/pytorch_weights.py) --------------------------------------------------

  pytorch_schemes: tuple = ()  # the names of the tensor-naming schemes it reads

  def pytorch_scheme(self, state: dict) -> str | None:
    """The scheme of a PyTorch state dict, if it is one of this family's."""
    return None

  def pytorch_tensors(self, model, config, state: dict, scheme: str):
    """(torch name, Keras variable, layout, where) of every weight of `model`."""
    raise NotImplementedError

  def register_layers(self) -> None:
    """Imports the family's Keras layers (their registration lets saved models load)."""

  # -- counting and drawing ---------------------------------------------------------------------

  def totals(self, config) -> dict:
    """{"trainable_params", "total_params", "macs"}."""
    raise NotImplementedError

  def format_table(self, config) -> str:
    raise NotImplementedError

  def draw(self, config, path: str, title: str | None = None) -> None:
    raise NotImplementedError

  # -- latency ops --------------------------------------------------------------------------------

  def arch_ops(self, config) -> list:
    """Every op of a net (what a latency table prices)."""
    raise NotImplementedError

  def space_ops(self, space) -> tuple:
    """(fixed ops, per mixed op the op of each candidate or None for zero)."""
    raise NotImplementedError

  def op_key(self, op) -> str:
    raise NotImplementedError

  def op_macs(self, op) -> int:
    raise NotImplementedError

  def op_model(self, op):
    """A Keras model of one op alone, to time."""
    raise NotImplementedError

  def op_features(self, op) -> tuple:
    """(MACs, values moved, TFLite layers) of one op, for the phone estimate."""
    raise NotImplementedError

  def op_variant(self, op) -> str:
    """What, beside its kind and resolution, sets an op's cost in context: its correction group
    under the per_kernel correction (`latency/correction.py`). The kernel size by default."""
    return f"k{op.kernel_size}"
