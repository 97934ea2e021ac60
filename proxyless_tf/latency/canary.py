"""The canary: one fixed reference op, timed next to every measurement, so machine drift cancels.

A shared VM's speed moves by 5-10% within minutes (other tenants, frequency changes), and a
table measured in one state and checked in another then reports that drift as predictor error.
Every timing (an op of a table build, a network of a validation, a deployed net in a benchmark)
is paired with a timing of the canary by the same measurer just before it. A table keeps each
entry's time relative to its canary (`ratio`) and the canary's median over the build
(`metadata.canary.median_ms`); its entries in ms are `ratio x canary ms`, i.e. the machine's
speed during the build, with the slow spells of the build cancelled. A later measurement's
speed factor is canary now / canary in the table: the same network in "table ms" is its time
now divided by that factor.

The canary is an op of the MBConv family (an `OpSpec`), so every measurer (LiteRT on the host,
`benchmark_model` over adb, a test's fake) times it without code of its own; it is timed in the
table's precision. Which op: `benchmarks/studies/canary_choice.py` measures how well each candidate
tracks what ops and whole networks feel under drift (BENCHMARKS.md "Choosing the canary").
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.latency.ops import OpSpec

# The candidates that benchmark compares; DEFAULT is the one it chose.
CANDIDATES = {
    "mbconv_14x32_k3e6": OpSpec("expanded_conv", 14, 32, 32, 3, 6, 1, True),
    "mbconv_28x40_k5e6": OpSpec("expanded_conv", 28, 40, 40, 5, 6, 1, True),
    "mbconv_56x24_k3e6": OpSpec("expanded_conv", 56, 24, 24, 3, 6, 1, True),
    "conv1x1_7x320_1280": OpSpec("Conv_1", 7, 320, 1280),
}
DEFAULT = "conv1x1_7x320_1280"


def canary_op(name: str = DEFAULT) -> OpSpec:
  return CANDIDATES[name]


def timed_with_canary(measure, canary, target):
  """(target's result, canary's result): the canary first, by the same measurer."""
  reference = measure(canary)
  return measure(target), reference


def median_ms(entry) -> float:
  if isinstance(entry, dict):
    return float(entry["median"] if entry.get("median") is not None else entry["mean"])
  return float(entry)


def table_canary_ms(table) -> float | None:
  """The canary's median during the table's build (None: a table from before canaries)."""
  canary = table.metadata.get("canary") or {}
  value = canary.get("median_ms")
  return float(value) if value else None


def speed_factor(canary_now_ms, table) -> float | None:
  """How much slower (> 1) or faster the machine runs now than when the table was built."""
  then = table_canary_ms(table)
  if then is None or canary_now_ms is None or not len(canary_now_ms):
    return None
  return float(np.median(np.asarray(canary_now_ms, float))) / then


NO_CANARY = ("this table has no canary (measured before canaries were timed with every op): "
             "drift of the machine since its build is not cancelled; rebuild it "
             "(--rebuild_latency_table, or python -m proxyless_tf.tools.build_latency_table into a new --out)")


def time_rounds(measure, contents: list, canary_content, rounds: int, progress=None):
  """Each of `contents` timed in `rounds` interleaved rounds, each right after the canary:
  (per-round ms [rounds x n], the paired canary ms [rounds x n]). `measure(content) -> ms`."""
  times = np.zeros((rounds, len(contents)))
  canaries = np.zeros((rounds, len(contents)))
  for r in range(rounds):
    for i, content in enumerate(contents):
      times[r, i], canaries[r, i] = timed_with_canary(measure, canary_content, content)
      if progress is not None:
        progress.update(1, last=f"{times[r, i]:.3f}ms")
  return times, canaries


def canary_tflite(table) -> bytes:
  """The table's canary as a model, exported the way the table's ops were."""
  from proxyless_tf.latency.op_models import op_tflite
  return op_tflite(canary_of(table), table.metadata.get("precision", "float"),
                   max_depthwise_taps=table.metadata.get("depthwise_max_taps"))


def canary_of(table) -> OpSpec:
  """The op a table was built with as its canary; the default for a table from before them."""
  key = (table.metadata.get("canary") or {}).get("op")
  for op in CANDIDATES.values():
    if op.key == key:
      return op
  return canary_op()
