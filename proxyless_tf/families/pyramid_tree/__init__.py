"""The PyramidTreeNet family: residual blocks whose cell is a tree of edges (the CIFAR-10 half of
ProxylessNAS, from Path-Level EAS). Its config (`config.py`), the original code's format
(`original.py`), presets, spaces, layers, builders (`builder.py`, `supernet.py`), latency ops
(`ops.py`), counts and figure, registered as `pyramid_tree` (`families/__init__.py`)."""

from __future__ import annotations

from proxyless_tf.families.base import Family
from proxyless_tf.families.pyramid_tree.config import FAMILY as NAME
from proxyless_tf.families.pyramid_tree.config import TreeNetConfig

OP_KINDS = ("tree_stem", "tree_block", "tree_edge", "tree_head")


class PyramidTreeFamily(Family):
  name = NAME
  config_type = TreeNetConfig
  op_kinds = OP_KINDS
  table_space_fields = ("input_size", "input_channels", "num_classes", "stem_filters", "alpha",
                        "blocks_per_stage", "depth")
  search_writes_original = True  # net_original.config beside arch.json

  def presets(self):
    from proxyless_tf.families.pyramid_tree.presets import proxyless_cifar
    return {"proxyless_cifar": proxyless_cifar}

  def read(self, data, name=None):
    from proxyless_tf.families.pyramid_tree.config import is_tree_dict, tree_from_dict
    from proxyless_tf.families.pyramid_tree.original import from_original, is_original_tree
    if is_original_tree(data):
      return from_original(data, name=name)
    if is_tree_dict(data):
      return tree_from_dict(data)
    return None

  def to_original(self, config):
    from proxyless_tf.families.pyramid_tree.original import to_original
    return to_original(config)

  def spaces(self):
    from proxyless_tf.families.pyramid_tree.space import TREE_SPACES
    return TREE_SPACES

  def build_model(self, config):
    from proxyless_tf.families.pyramid_tree.builder import build_tree_model
    return build_tree_model(config)

  def owns_model(self, model):
    from proxyless_tf.families.pyramid_tree.layers import ResidualTreeBlock
    return any(isinstance(layer, ResidualTreeBlock) for layer in model.layers)

  def arch_from_model(self, model):
    from proxyless_tf.families.pyramid_tree.builder import tree_arch_from_model
    return tree_arch_from_model(model)

  def build_supernet(self, space, weight_sharing):
    from proxyless_tf.families.pyramid_tree.supernet import TreeSupernet
    return TreeSupernet(space, weight_sharing=weight_sharing)

  def candidate_from_config(self, value):
    if isinstance(value, str):  # an edge op's name
      from proxyless_tf.families.pyramid_tree.space import EdgeCandidate
      return EdgeCandidate(value)
    return None

  pytorch_schemes = ("tree",)

  def pytorch_scheme(self, state):
    from proxyless_tf.families.pyramid_tree.weights import tree_scheme
    return tree_scheme(state)

  def pytorch_tensors(self, model, config, state, scheme):
    from proxyless_tf.families.pyramid_tree.weights import tree_tensors
    return tree_tensors(model, config)

  def register_layers(self):
    import proxyless_tf.families.pyramid_tree.layers  # noqa: F401

  def totals(self, config):
    from proxyless_tf.families.pyramid_tree.stats import tree_totals
    return tree_totals(config)

  def format_table(self, config):
    from proxyless_tf.families.pyramid_tree.stats import format_tree_table
    return format_tree_table(config)

  def draw(self, config, path, title=None):
    from proxyless_tf.families.pyramid_tree.draw import draw_tree_arch
    draw_tree_arch(config, path, title)

  def arch_ops(self, config):
    from proxyless_tf.families.pyramid_tree.ops import tree_arch_ops
    return tree_arch_ops(config)

  def space_ops(self, space):
    from proxyless_tf.families.pyramid_tree.ops import tree_space_ops
    return tree_space_ops(space)

  def op_key(self, op):
    from proxyless_tf.families.pyramid_tree.ops import tree_op_key
    return tree_op_key(op)

  def op_macs(self, op):
    from proxyless_tf.families.pyramid_tree.ops import tree_op_macs
    return tree_op_macs(op)

  def op_model(self, op):
    from proxyless_tf.families.pyramid_tree.ops import tree_op_model
    return tree_op_model(op)

  def op_features(self, op):
    from proxyless_tf.families.pyramid_tree.ops import tree_op_features
    return tree_op_features(op)


FAMILY = PyramidTreeFamily()
