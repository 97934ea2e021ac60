"""The search-space flags shared by the table tools (flags stay at the program edges)."""

from __future__ import annotations

from absl import flags


def define_space_flags(default_space: str) -> None:
  from proxyless_tf.space.space import space_names, spaces_help
  flags.DEFINE_enum("space", default_space, space_names(), spaces_help())
  flags.DEFINE_integer("input_size", None, "Input resolution (default: the space's).",
                       lower_bound=1)
  flags.DEFINE_integer("input_channels", None, "Input channels (default: the space's).",
                       lower_bound=1)
  flags.DEFINE_integer("num_classes", None, "Classes (default: the space's).", lower_bound=1)
  flags.DEFINE_float("width_mult", 1.0, "Width multiplier of the space.")


def space_from_flags():
  from proxyless_tf.space.space import get_space
  f = flags.FLAGS
  return get_space(f.space).with_width(f.width_mult).with_task(f.input_size, f.input_channels,
                                                               f.num_classes)
