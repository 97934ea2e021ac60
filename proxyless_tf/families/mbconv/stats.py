"""The MBConv family's counts: parameters and multiply-adds per layer, from the config alone.

MACs count convolutions and the classifier, the convention of the ProxylessNAS paper (BN, ReLU6,
residual adds and pooling are not counted). Parameters follow Keras: `trainable` excludes the BN
moving statistics, `total` includes them.
"""

from __future__ import annotations

import dataclasses

from proxyless_tf.arch.config import conv_output_size
from proxyless_tf.families.mbconv.config import ArchConfig, Block, has_residual
from proxyless_tf.arch.stats import total_line


@dataclasses.dataclass(frozen=True)
class LayerStats:
  name: str
  input_resolution: int
  in_channels: int
  out_channels: int
  kernel_size: int
  expand_ratio: int
  stride: int
  trainable_params: int
  total_params: int
  macs: int
  residual: bool = False
  zero: bool = False


def _conv_bn(in_ch: int, out_ch: int, kernel: int, groups: int = 1) -> tuple[int, int]:
  """(trainable, total) params of conv (no bias) + BN."""
  conv = kernel * kernel * (in_ch // groups) * out_ch
  return conv + 2 * out_ch, conv + 4 * out_ch


def mbconv_stats(resolution: int, in_ch: int, block: Block) -> tuple[int, int, int]:
  """(trainable, total, macs) of one MBConv; also used by the latency model for per-op cost."""
  if block.is_zero:
    return 0, 0, 0
  mid = in_ch * block.expand_ratio
  out_res = conv_output_size(resolution, block.stride)
  trainable = total = macs = 0
  if block.expand_ratio != 1:
    t, a = _conv_bn(in_ch, mid, 1)
    trainable, total, macs = trainable + t, total + a, macs + resolution * resolution * in_ch * mid
  t, a = _conv_bn(mid, mid, block.kernel_size, groups=mid)
  trainable, total = trainable + t, total + a
  macs += out_res * out_res * block.kernel_size * block.kernel_size * mid
  t, a = _conv_bn(mid, block.filters, 1)
  trainable, total = trainable + t, total + a
  macs += out_res * out_res * mid * block.filters
  return trainable, total, macs


def layer_stats(config: ArchConfig) -> list[LayerStats]:
  rows = []
  res = config.input_size
  stem_out = conv_output_size(res, config.stem_stride)
  t, a = _conv_bn(config.input_channels, config.stem_filters, config.stem_kernel_size)
  rows.append(LayerStats("stem", res, config.input_channels, config.stem_filters,
                         config.stem_kernel_size, 0, config.stem_stride, t, a,
                         stem_out * stem_out * config.stem_kernel_size ** 2 * config.input_channels
                         * config.stem_filters))
  for i, (block, (res, in_ch)) in enumerate(zip(config.blocks, config.block_inputs())):
    t, a, macs = mbconv_stats(res, in_ch, block)
    rows.append(LayerStats(f"block_{i}", res, in_ch, block.filters,
                           0 if block.is_zero else block.kernel_size,
                           0 if block.is_zero else block.expand_ratio, block.stride, t, a, macs,
                           residual=has_residual(in_ch, block), zero=block.is_zero))
  res = config.final_resolution
  last = config.blocks[-1].filters
  t, a = _conv_bn(last, config.head_filters, 1)
  rows.append(LayerStats("head", res, last, config.head_filters, 1, 0, 1, t, a,
                         res * res * last * config.head_filters))
  dense = config.head_filters * config.num_classes + config.num_classes
  rows.append(LayerStats("classifier", 1, config.head_filters, config.num_classes, 0, 0, 1,
                         dense, dense, config.head_filters * config.num_classes))
  return rows


def mbconv_totals(config) -> dict[str, int]:
  rows = layer_stats(config)
  return {"trainable_params": sum(r.trainable_params for r in rows),
          "total_params": sum(r.total_params for r in rows),
          "macs": sum(r.macs for r in rows)}


def format_mbconv_table(config) -> str:
  header = (f"{'layer':<11} {'res':>5} {'in':>5} {'out':>5} {'k':>2} {'e':>2} {'s':>2} "
            f"{'params':>10} {'MACs':>12}")
  lines = [f"{config.name}: {config.input_size}x{config.input_size}x{config.input_channels} -> "
           f"{config.num_classes} classes, padding {config.padding}", header, "-" * len(header)]
  for r in layer_stats(config):
    kernel = "-" if r.zero or r.kernel_size == 0 else str(r.kernel_size)
    expand = "-" if r.zero or r.expand_ratio == 0 else str(r.expand_ratio)
    tag = " zero" if r.zero else (" +res" if r.residual else "")
    lines.append(f"{r.name:<11} {r.input_resolution:>5} {r.in_channels:>5} {r.out_channels:>5} "
                 f"{kernel:>2} {expand:>2} {r.stride:>2} {r.trainable_params:>10,} {r.macs:>12,}{tag}")
  lines.append("-" * len(header))
  lines.append(total_line(config))
  return "\n".join(lines)
