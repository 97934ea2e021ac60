"""What every family's net config shares: the methods they compute alike (`NetConfigMethods`),
the one-line error of a config that cannot describe a network (`ArchConfigError`), the field
checks and size limits, and channel rounding. A family's config type is in its folder
(`families/*/config.py`); the JSON a config writes is the one interface between search and deploy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from proxyless_tf.errors import UserError


class ArchConfigError(UserError, ValueError):
  """A config that cannot describe a network; the message is one line saying where and how to fix."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
  """Rounds channels to a multiple of `divisor`, never more than 10% below `value` (MobileNet rule)."""
  min_value = divisor if min_value is None else min_value
  rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
  if rounded < 0.9 * value:
    rounded += divisor
  return rounded


def conv_output_size(size: int, stride: int) -> int:
  """Spatial size after a conv: ceil(size / stride) under both paddings (odd kernels)."""
  return -(-size // stride)


class NetConfigMethods:
  """What every family's net config (a frozen dataclass with `input_size`, `input_channels`,
  `num_classes`, `stem_stride`, `stem_filters`, `blocks` of `filters` and `stride`, and
  `to_dict()`) does the same way."""

  json_indent = 2  # of `to_json` (a family may keep its files' historical layout)

  def replace(self, **changes):
    return dataclasses.replace(self, **changes)

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=self.json_indent)

  def with_io(self, input_size: int | None = None, input_channels: int | None = None,
              num_classes: int | None = None):
    """The same network for another task (e.g. 32x32x1 inputs, 10 classes)."""
    return self.replace(
        input_size=self.input_size if input_size is None else input_size,
        input_channels=self.input_channels if input_channels is None else input_channels,
        num_classes=self.num_classes if num_classes is None else num_classes)

  def block_inputs(self) -> list[tuple[int, int]]:
    """(resolution, channels) entering each block, in order."""
    res = conv_output_size(self.input_size, self.stem_stride)
    channels = self.stem_filters
    shapes = []
    for block in self.blocks:
      shapes.append((res, channels))
      res = conv_output_size(res, block.stride)
      channels = block.filters
    return shapes

  @property
  def final_resolution(self) -> int:
    res = conv_output_size(self.input_size, self.stem_stride)
    for block in self.blocks:
      res = conv_output_size(res, block.stride)
    return res


MAX_INPUT_SIZE = 4096
MAX_INPUT_CHANNELS = 1024
MAX_CLASSES = 1_000_000
MAX_FILTERS = 16384
MAX_EXPAND = 32
MAX_KERNEL = 15
MAX_BLOCKS = 512
MAX_PARAMS = 2**31 // 4  # float32 weights in one TFLite flatbuffer
MAX_ACTIVATION = 2**28  # elements of the largest tensor (1 GiB float32) at batch 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def _check_int(where: str, field: str, value: Any, minimum: int = 1,
               maximum: int | None = None) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
      maximum is not None and value > maximum):
    shown = repr(value) if not isinstance(value, int) or abs(value) < 10**12 else "a huge integer"
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise ArchConfigError(f"{where}: '{field}' must be an integer {bound}, got {shown}")


def _check_float(where: str, field: str, value: Any, low: float, high: float,
                 high_open: bool = True, low_open: bool = False, hint: str = "") -> None:
  ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high))
  if not ok:
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    raise ArchConfigError(f"{where}: '{field}' must be a number in {interval}{hint}, "
                          f"got {value!r}")


def _check_kernel(where: str, value: Any) -> None:
  _check_int(where, "kernel_size", value, 1, MAX_KERNEL)
  if value % 2 == 0:
    raise ArchConfigError(f"{where}: 'kernel_size' must be odd (1, 3, 5, 7, ...), got {value}")
