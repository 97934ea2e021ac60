"""The MobileNetV3-like family: inverted-residual blocks that each choose a kernel, an expansion,
squeeze-and-excite on or off and ReLU or h-swish (TuNAS's `mobile_search_space_v3`), registered
as `mobilenet_v3` (`families/__init__.py`). Everything it has is in this folder: its config
(`config.py`), layers, one builder for the plain net and the supernet (`builder.py`,
`supernet.py`), spaces, latency ops, counts, figure and the published MobileNetV3-Large.

It has no original-code format and no PyTorch weight scheme: the published net's reference is
Keras's own `keras.applications.MobileNetV3Large`, whose parameter count a test holds ours to.
"""

from __future__ import annotations

from proxyless_tf.errors import UserError
from proxyless_tf.families.base import Family
from proxyless_tf.families.mobilenet_v3.config import FAMILY as NAME
from proxyless_tf.families.mobilenet_v3.config import V3NetConfig
from proxyless_tf.families.mobilenet_v3.ops import OP_KINDS


class MobileNetV3Family(Family):
  name = NAME
  config_type = V3NetConfig
  op_kinds = OP_KINDS
  table_space_fields = ("input_size", "input_channels", "num_classes", "stem_filters",
                        "stem_stride", "first_block_filters", "stage_widths", "head_filters",
                        "feature_filters", "se_ratio")

  def presets(self):
    from proxyless_tf.families.mobilenet_v3.presets import V3_PRESETS
    return V3_PRESETS

  def read(self, data, name=None):
    from proxyless_tf.families.mobilenet_v3.config import is_v3_dict, v3_from_dict
    return v3_from_dict(data) if is_v3_dict(data) else None

  def to_original(self, config):
    raise UserError(f"the {NAME} family has no original-code config format; its arch.json is "
                    "the only one")

  def spaces(self):
    from proxyless_tf.families.mobilenet_v3.space import V3_SPACES
    return V3_SPACES

  def build_model(self, config):
    from proxyless_tf.families.mobilenet_v3.builder import build_v3_model
    return build_v3_model(config)

  def owns_model(self, model):
    from proxyless_tf.families.mobilenet_v3.layers import HardSwish
    return any(isinstance(layer, HardSwish) for layer in model.layers)

  def arch_from_model(self, model):
    from proxyless_tf.families.mobilenet_v3.builder import v3_arch_from_model
    return v3_arch_from_model(model)

  def build_supernet(self, space, weight_sharing):
    from proxyless_tf.families.mobilenet_v3.supernet import V3Supernet
    return V3Supernet(space, weight_sharing=weight_sharing)

  def candidate_from_config(self, value):
    if isinstance(value, dict):  # {"kernel_size", "expand_ratio", "se", "activation"} or zero
      from proxyless_tf.families.mobilenet_v3.space import V3Candidate
      return V3Candidate.from_config(value)
    return None

  def register_layers(self):
    import proxyless_tf.families.mobilenet_v3.layers  # noqa: F401

  def totals(self, config):
    from proxyless_tf.families.mobilenet_v3.stats import v3_totals
    return v3_totals(config)

  def format_table(self, config):
    from proxyless_tf.families.mobilenet_v3.stats import format_v3_table
    return format_v3_table(config)

  def draw(self, config, path, title=None):
    from proxyless_tf.families.mobilenet_v3.draw import draw_v3_arch
    draw_v3_arch(config, path, title)

  def arch_ops(self, config):
    from proxyless_tf.families.mobilenet_v3.ops import v3_arch_ops
    return v3_arch_ops(config)

  def space_ops(self, space):
    from proxyless_tf.families.mobilenet_v3.ops import v3_space_ops
    return v3_space_ops(space)

  def op_key(self, op):
    from proxyless_tf.families.mobilenet_v3.ops import v3_op_key
    return v3_op_key(op)

  def op_macs(self, op):
    from proxyless_tf.families.mobilenet_v3.ops import v3_op_macs
    return v3_op_macs(op)

  def op_model(self, op):
    from proxyless_tf.families.mobilenet_v3.ops import v3_op_model
    return v3_op_model(op)

  def op_features(self, op):
    from proxyless_tf.families.mobilenet_v3.ops import v3_op_features
    return v3_op_features(op)

  def op_variant(self, op):
    """An SE block's pool and 1x1 convs on a 1x1 map cost differently in context than alone (a
    per-kernel correction fitted on nets mixing both priced a net without SE 12% high)."""
    return f"k{op.kernel_size}" + ("+se" if getattr(op, "se", False) else "")


FAMILY = MobileNetV3Family()
