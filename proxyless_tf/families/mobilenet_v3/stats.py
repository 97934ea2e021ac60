"""Parameters and MACs of a MobileNetV3-style net, counted from its config (no model built): the
search's FLOPs stand-in and `arch --stats` read these, and a test holds them equal to the built
model's `count_params()` and to Keras's own MobileNetV3-Large."""

from __future__ import annotations

from proxyless_tf.arch.config import conv_output_size
from proxyless_tf.arch.stats import total_line
from proxyless_tf.families.mobilenet_v3.config import expanded_channels, se_channels


def conv_bn(res_out: int, k: int, c_in: int, c_out: int) -> tuple[int, int, int]:
  """(trainable params, BN statistics, MACs) of a conv (no bias) + BN."""
  return k * k * c_in * c_out + 2 * c_out, 2 * c_out, res_out * res_out * k * k * c_in * c_out


def block_counts(res: int, c_in: int, block, se_ratio: float) -> tuple[int, int, int]:
  """(trainable params, BN statistics, MACs) of one block (zero: nothing)."""
  if block.is_zero:
    return 0, 0, 0
  out = conv_output_size(res, block.stride)
  mid = expanded_channels(c_in, block.expand_ratio)
  parts = []
  if block.expand_ratio != 1:
    parts.append(conv_bn(res, 1, c_in, mid))
  dw = block.kernel_size ** 2 * mid
  parts.append((dw + 2 * mid, 2 * mid, out * out * dw))
  if block.se:
    r = se_channels(mid, se_ratio)
    parts.append((mid * r + r + r * mid + mid, 0, 2 * mid * r))
  parts.append(conv_bn(out, 1, mid, block.filters))
  return tuple(sum(p[i] for p in parts) for i in range(3))


def head_counts(res: int, c_in: int, config) -> tuple[int, int, int]:
  conv = conv_bn(res, 1, c_in, config.head_filters)
  dense = (config.head_filters * config.feature_filters + config.feature_filters
           + config.feature_filters * config.num_classes + config.num_classes)
  macs = config.head_filters * config.feature_filters + config.feature_filters * config.num_classes
  return conv[0] + dense, conv[1], conv[2] + macs


def v3_rows(config) -> list[tuple]:
  """(part, input resolution, in, out, trainable params, total params, MACs) per part."""
  stem_res = conv_output_size(config.input_size, config.stem_stride)
  stem = conv_bn(stem_res, 3, config.input_channels, config.stem_filters)
  rows = [("stem", config.input_size, config.input_channels, config.stem_filters, stem[0],
           stem[0] + stem[1], stem[2])]
  for i, (block, (res, c_in)) in enumerate(zip(config.blocks, config.block_inputs())):
    p, s, m = block_counts(res, c_in, block, config.se_ratio)
    rows.append((f"block_{i}", res, c_in, block.filters, p, p + s, m))
  p, s, m = head_counts(config.final_resolution, config.blocks[-1].filters, config)
  rows.append(("head", config.final_resolution, config.blocks[-1].filters, config.num_classes,
               p, p + s, m))
  return rows


def v3_totals(config) -> dict[str, int]:
  rows = v3_rows(config)
  return {"trainable_params": sum(r[4] for r in rows), "total_params": sum(r[5] for r in rows),
          "macs": sum(r[6] for r in rows)}


def _describe(block) -> str:
  if block.is_zero:
    return "zero"
  return (f"k{block.kernel_size} e{block.expand_ratio:g} s{block.stride}"
          f"{' se' if block.se else ''} {block.activation}")


def format_v3_table(config) -> str:
  rows = v3_rows(config)
  header = (f"{'part':<9} {'block':<22} {'res':>5} {'in':>5} {'out':>5} {'params':>11} "
            f"{'MACs':>14}")
  lines = [f"{config.name}: MobileNetV3-style, {config.input_size}x{config.input_size}x"
           f"{config.input_channels} -> {config.num_classes} classes", header, "-" * len(header)]
  described = ["3x3 conv, h-swish"] + [_describe(b) for b in config.blocks] + [
      f"1x1 {config.head_filters}, {config.feature_filters}"]
  for (name, res, c_in, c_out, params, _, macs), what in zip(rows, described):
    lines.append(f"{name:<9} {what:<22} {res:>5} {c_in:>5} {c_out:>5} {params:>11,} {macs:>14,}")
  lines.append("-" * len(header))
  lines.append(total_line(config))
  return "\n".join(lines)
