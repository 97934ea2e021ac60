"""The MobileNetV2-style family: a stem, MBConv blocks (or `zero`), a 1x1 head conv and a classifier
(the ProxylessNAS ImageNet nets). The default family: a config or space with no `family` field is
one of these. Everything it has is in this folder: its config (`config.py`: `ArchConfig`,
`Block`), layers (`MBConv`, ...), nested weight sharing, published nets (`presets.py`), the
original code's `net.config` (`original.py`), spaces, builders (`builder.py`, `supernet.py`),
latency ops, counts, figure and PyTorch tensor names. `proxyless_tf.arch` and `proxyless_tf.model`
re-export its config and layers under their old names."""

from __future__ import annotations

from proxyless_tf.families.base import Family
from proxyless_tf.families.mbconv.config import MBCONV_OP_KINDS, ArchConfig


class MBConvFamily(Family):
  name = "mbconv"
  config_type = ArchConfig
  op_kinds = MBCONV_OP_KINDS
  table_space_fields = ("input_size", "input_channels", "num_classes", "stem_filters",
                        "first_block_filters", "stage_widths", "head_filters")
  pytorch_schemes = ("original", "pytorchcv")

  def presets(self):
    from proxyless_tf.families.mbconv.presets import MBCONV_PRESETS
    return MBCONV_PRESETS

  def read(self, data, name=None):
    """The default family reads last: our JSON, or the original code's `net.config`; anything
    else is refused here, with what is wrong."""
    from proxyless_tf.families.mbconv.config import from_dict
    from proxyless_tf.families.mbconv.original import from_pytorch_config, is_pytorch_config
    if is_pytorch_config(data):
      return from_pytorch_config(data, name=name)
    return from_dict(data)

  def to_original(self, config):
    from proxyless_tf.families.mbconv.original import to_pytorch_config
    return to_pytorch_config(config)

  def spaces(self):
    from proxyless_tf.families.mbconv.space import SPACES
    return SPACES

  def build_model(self, config):
    from proxyless_tf.families.mbconv.builder import build_mbconv_model
    return build_mbconv_model(config)

  def owns_model(self, model):
    return any(layer.name == "stem" for layer in model.layers)

  def arch_from_model(self, model):
    from proxyless_tf.families.mbconv.builder import mbconv_arch_from_model
    return mbconv_arch_from_model(model)

  def build_supernet(self, space, weight_sharing):
    from proxyless_tf.families.mbconv.supernet import Supernet
    return Supernet(space, weight_sharing=weight_sharing)

  def candidate_from_config(self, value):
    if isinstance(value, (tuple, list)):  # (kernel, expand)
      from proxyless_tf.families.mbconv.space import Candidate
      return Candidate(*value)
    return None

  def pytorch_scheme(self, state):
    from proxyless_tf.families.mbconv.weights import mbconv_scheme
    return mbconv_scheme(state)

  def pytorch_tensors(self, model, config, state, scheme):
    from proxyless_tf.families.mbconv.weights import mbconv_tensors
    return mbconv_tensors(model, config, state, scheme)

  def register_layers(self):
    import proxyless_tf.families.mbconv.layers  # noqa: F401
    import proxyless_tf.model.layers  # noqa: F401 (the split depthwise conv of its exports)

  def totals(self, config):
    from proxyless_tf.families.mbconv.stats import mbconv_totals
    return mbconv_totals(config)

  def format_table(self, config):
    from proxyless_tf.families.mbconv.stats import format_mbconv_table
    return format_mbconv_table(config)

  def draw(self, config, path, title=None):
    from proxyless_tf.families.mbconv.draw import draw_mbconv_arch
    draw_mbconv_arch(config, path, title)

  def arch_ops(self, config):
    from proxyless_tf.families.mbconv.ops import mbconv_arch_ops
    return mbconv_arch_ops(config)

  def space_ops(self, space):
    from proxyless_tf.families.mbconv.ops import mbconv_space_ops
    return mbconv_space_ops(space)

  def op_key(self, op):
    from proxyless_tf.families.mbconv.ops import mbconv_op_key
    return mbconv_op_key(op)

  def op_macs(self, op):
    from proxyless_tf.families.mbconv.ops import mbconv_op_macs
    return mbconv_op_macs(op)

  def op_model(self, op):
    from proxyless_tf.families.mbconv.ops import mbconv_op_model
    return mbconv_op_model(op)

  def op_features(self, op):
    from proxyless_tf.families.mbconv.ops import mbconv_op_features
    return mbconv_op_features(op)


FAMILY = MBConvFamily()
