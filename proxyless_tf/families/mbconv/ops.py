"""The MBConv family's ops, keyed the way the original ProxylessNAS latency tables key them:

  Conv-input:224x224x3-output:112x112x32                              (stem)
  expanded_conv-input:56x56x24-output:28x28x40-expand:6-kernel:5-stride:2-idskip:0
  Conv_1-input:7x7x320-output:7x7x1280                                (1x1 head conv)
  Logits-input:7x7x1280-output:1000                                   (pool + classifier)

Both the predictor (sum over an arch's ops) and the search's expected latency (per mixed op, sum
over candidates weighted by p) enumerate ops through here, so they cannot disagree.
"""

from __future__ import annotations

import keras

from proxyless_tf.arch.config import conv_output_size
from proxyless_tf.families.mbconv.config import ArchConfig, Block, has_residual
from proxyless_tf.families.mbconv.stats import mbconv_stats
from proxyless_tf.latency.ops import OpSpec
from proxyless_tf.model.layers import dense_initializer
from proxyless_tf.families.mbconv.layers import ConvBNReLU, MBConv

def mbconv_op_key(op) -> str:
  inp = f"input:{op.resolution}x{op.resolution}x{op.in_channels}"
  if op.kind == "Logits":
    return f"Logits-{inp}-output:{op.out_channels}"
  out = f"output:{op.out_resolution}x{op.out_resolution}x{op.out_channels}"
  if op.kind == "expanded_conv":
    return (f"expanded_conv-{inp}-{out}-expand:{op.expand_ratio}-kernel:{op.kernel_size}"
            f"-stride:{op.stride}-idskip:{int(op.idskip)}")
  return f"{op.kind}-{inp}-{out}"


def mbconv_op_macs(op) -> int:
  r, o = op.resolution, op.out_resolution
  if op.kind == "Conv":
    return o * o * op.kernel_size ** 2 * op.in_channels * op.out_channels
  if op.kind == "Conv_1":
    return r * r * op.in_channels * op.out_channels
  if op.kind == "Logits":
    return op.in_channels * op.out_channels
  block = Block(op.out_channels, op.stride, op.kernel_size, op.expand_ratio)
  return mbconv_stats(r, op.in_channels, block)[2]


def block_op(resolution: int, in_channels: int, block: Block,
             position: int | None = None) -> OpSpec | None:
  """The op of one block, or None for `zero` (a skipped block costs nothing)."""
  if block.is_zero:
    return None
  return OpSpec("expanded_conv", resolution, in_channels, block.filters, block.kernel_size,
                block.expand_ratio, block.stride, has_residual(in_channels, block), position)


def fixed_ops(input_size: int, input_channels: int, stem_filters: int, stem_stride: int,
              final_resolution: int, last_channels: int, head_filters: int,
              num_classes: int) -> list[OpSpec]:
  return [OpSpec("Conv", input_size, input_channels, stem_filters, 3, 1, stem_stride),
          OpSpec("Conv_1", final_resolution, last_channels, head_filters),
          OpSpec("Logits", final_resolution, head_filters, num_classes)]


def mbconv_arch_ops(config: ArchConfig) -> list[OpSpec]:
  """All ops of an MBConv net: stem, each non-zero block, head conv, logits."""
  ops = fixed_ops(config.input_size, config.input_channels, config.stem_filters,
                  config.stem_stride, config.final_resolution, config.blocks[-1].filters,
                  config.head_filters, config.num_classes)
  blocks = [block_op(res, ch, b, i)
            for i, (b, (res, ch)) in enumerate(zip(config.blocks, config.block_inputs()))]
  return ops[:1] + [op for op in blocks if op is not None] + ops[1:]


def mbconv_space_ops(space) -> tuple[list[OpSpec], list[list[OpSpec | None]]]:
  first = space.first_block()
  stem_res = conv_output_size(space.input_size, space.stem_stride)
  specs = space.mixed_ops()
  final_res = conv_output_size(specs[-1].resolution, specs[-1].stride)
  fixed = fixed_ops(space.input_size, space.input_channels, space.stem_filters, space.stem_stride,
                    final_res, specs[-1].filters, space.head_filters, space.num_classes)
  fixed.insert(1, block_op(stem_res, space.stem_filters, first, 0))
  candidates = [[None if c.is_zero else block_op(spec.resolution, spec.in_channels,
                                                 c.block(spec.filters, spec.stride),
                                                 spec.index + 1)
                 for c in spec.candidates] for spec in specs]
  return fixed, candidates


def mbconv_op_model(op: OpSpec) -> keras.Model:
  inputs = keras.Input((op.resolution, op.resolution, op.in_channels))
  if op.kind == "Conv":
    x = ConvBNReLU(op.out_channels, op.kernel_size, op.stride, name="stem")(inputs)
  elif op.kind == "Conv_1":
    x = ConvBNReLU(op.out_channels, 1, 1, name="head")(inputs)
  elif op.kind == "Logits":
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    x = keras.layers.Dense(op.out_channels, kernel_initializer=dense_initializer(op.in_channels))(x)
  elif op.kind == "expanded_conv":
    block = Block(op.out_channels, op.stride, op.kernel_size, op.expand_ratio)
    x = MBConv(block.filters, block.kernel_size, block.stride, block.expand_ratio,
               residual=op.idskip, name="block")(inputs)
  else:
    raise ValueError(f"unknown op kind {op.kind}")
  return keras.Model(inputs, x)


def mbconv_op_features(op) -> tuple[int, int, int]:
  """(MACs, values moved, TFLite layers) of one op, for the phone estimate (`latency/estimate.py`)."""
  r, o = op.resolution, op.out_resolution
  if op.kind in ("Conv", "Conv_1"):
    weights = op.kernel_size ** 2 * op.in_channels * op.out_channels
    values = r * r * op.in_channels + o * o * op.out_channels + weights
    layers = 1
  elif op.kind == "Logits":
    values = r * r * op.in_channels + op.in_channels * op.out_channels + op.out_channels
    layers = 2
  else:
    mid = op.in_channels * op.expand_ratio
    expand = op.expand_ratio != 1
    values = (r * r * op.in_channels + (2 * r * r * mid if expand else 0) + 2 * o * o * mid
              + o * o * op.out_channels + (op.in_channels * mid if expand else 0)
              + op.kernel_size ** 2 * mid + mid * op.out_channels)
    layers = (3 if expand else 2) + int(op.idskip)
  return op.macs, values, layers


