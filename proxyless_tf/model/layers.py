"""What the families' Keras layers share: initializers, the two padding conventions, and the
split depthwise conv XNNPACK runs fast (each family's own layers are in its folder).

Initialization follows the original ProxylessNAS code: conv weights ~ N(0, sqrt(2 / (k*k*out)))
where `out` is the conv's output channels (for a depthwise conv, the channel count), dense weights
~ U(+-1/sqrt(in)) with zero bias. `keras.initializers.HeNormal` would use fan_in and a truncated
normal, and for depthwise kernels Keras's fan_out is k*k, so the stddev is given explicitly.
"""

from __future__ import annotations

import math

import keras


def conv_initializer(kernel_size: int, out_channels: int) -> keras.initializers.Initializer:
  return keras.initializers.RandomNormal(
      mean=0.0, stddev=math.sqrt(2.0 / (kernel_size * kernel_size * out_channels)))


def dense_initializer(in_features: int) -> keras.initializers.Initializer:
  bound = 1.0 / math.sqrt(in_features)
  return keras.initializers.RandomUniform(-bound, bound)


PADDINGS = ("same", "symmetric")


def explicit_padding(kernel_size: int, strides: int, padding: str) -> int:
  """Zeros to pad on every side before a "valid" conv, or 0 when Keras' "same" is the function.

  "same" is TensorFlow's rule: on a strided conv over an even input the extra zeros go after
  (3x3 stride 2 pads (0, 1)). "symmetric" is PyTorch's `padding=k // 2` on both sides, the
  convention of the original ProxylessNAS code and of pytorchcv: weights trained there compute
  the same function only with it. For stride 1 and odd kernels the two are identical, so only
  strided convs get an explicit pad.
  """
  if padding not in PADDINGS:
    raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
  return kernel_size // 2 if padding == "symmetric" and strides > 1 else 0


def padded(layer_input, pad: int):
  if not pad:
    return layer_input
  return keras.ops.pad(layer_input, [[0, 0], [pad, pad], [pad, pad], [0, 0]])


def same_padding(size: int, kernel_size: int, stride: int,
                 padding: str = "same") -> tuple[int, int]:
  """(before, after) zero padding along one axis: TensorFlow's `padding="same"`, or k // 2 on
  both sides for "symmetric" (see `explicit_padding`)."""
  if explicit_padding(kernel_size, stride, padding):
    return kernel_size // 2, kernel_size // 2
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel_size - size, 0)
  return total // 2, total - total // 2


def row_pieces(kernel_size: int, max_taps: int) -> list[tuple[int, int]]:
  """(first row, rows) of each piece: as many full kernel rows per piece as `max_taps` allows
  (7x7 in 25 taps: 3 + 3 + 1 rows)."""
  rows = max(1, max_taps // kernel_size)
  return [(r, min(rows, kernel_size - r)) for r in range(0, kernel_size, rows)]


@keras.saving.register_keras_serializable(package="proxyless_tf")
class SplitDepthwiseConv2D(keras.layers.Layer):
  """A k x k depthwise conv ("same" or "symmetric" padding, with bias) computed as the sum of
  depthwise convs over groups of its kernel rows, each reading the padded input shifted by its
  first row.

  Same function as the whole conv. Why: XNNPACK runs a depthwise conv in one pass only when its
  kh*kw taps fit its largest microkernel tile (25); a 7x7 kernel (49 taps) falls back to a much
  slower path (measured ~6x slower at 56x56x96 than the 3x7 + 3x7 + 1x7 pieces). Inference only:
  the deployed form of an `MBConv` whose BN is folded into `kernel` and `bias`.
  """

  def __init__(self, kernel_size: int, strides: int = 1, max_taps: int = 25,
               padding: str = "same", **kwargs):
    super().__init__(**kwargs)
    self.kernel_size, self.strides, self.max_taps = kernel_size, strides, max_taps
    self.padding = padding

  def build(self, input_shape):
    channels = int(input_shape[-1])
    self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size,
                                                       channels, 1), initializer="zeros")
    self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")
    self.built = True

  def call(self, inputs):
    k, s = self.kernel_size, self.strides
    height, width = int(inputs.shape[1]), int(inputs.shape[2])
    top, bottom = same_padding(height, k, s, self.padding)
    x = keras.ops.pad(inputs, [[0, 0], [top, bottom], [*same_padding(width, k, s, self.padding)],
                               [0, 0]])
    out_rows = -(-height // s)
    y = None
    for first, rows in row_pieces(k, self.max_taps):
      piece = keras.ops.depthwise_conv(x[:, first:first + (out_rows - 1) * s + rows],
                                       self.kernel[first:first + rows], strides=s,
                                       padding="valid")
      # the bias right after the first conv: the converter folds it into that conv's bias
      # (added after the sum it would be one more pass over the output)
      y = piece + self.bias if y is None else y + piece
    return y

  def compute_output_shape(self, input_shape):
    size = [None if d is None else -(-d // self.strides) for d in input_shape[1:3]]
    return (input_shape[0], *size, input_shape[-1])

  def get_config(self):
    return {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
            "max_taps": self.max_taps, "padding": self.padding}
