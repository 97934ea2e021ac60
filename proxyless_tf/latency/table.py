"""Latency lookup tables: one file per (device, runtime, threads, delegate, precision).

JSON layout:
  {"metadata": {"device": ..., "cpu": ..., "runtime": ..., "threads": 1, "delegate": "none",
                "precision": "float", "input_size": 32, "space": "small", "date": ...,
                "command": ..., "estimated": false, "calibration": {"scale": 1, "offset": 0}},
   "entries": {KEY: {"mean": ms, "median": ms, "std": ms, "count": n}, ...},
   "partial": {KEY: [round, ...]}}   # only while a build measured some rounds of an op, not all

The original ProxylessNAS YAML tables (`KEY: {count, mean, var}`, mean in ms) load too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

from proxyless_tf.errors import UserError
from proxyless_tf.latency.cost_model import CostModel
from proxyless_tf.latency.ops import OpSpec
from proxyless_tf.utils.files import atomic_write_text

ENTRY_FIELDS = ("mean", "median", "std", "count")


@dataclasses.dataclass
class LatencyTable:
  metadata: dict
  entries: dict  # key -> {"mean", "median", "std", "count"}
  path: str | None = None
  partial: dict = dataclasses.field(default_factory=dict)  # key -> rounds measured so far

  def to_dict(self) -> dict:
    data = {"metadata": self.metadata, "entries": dict(sorted(self.entries.items()))}
    if self.partial:
      data["partial"] = self.partial
    return data

  def save(self, path: str | None = None) -> None:
    path = path or self.path
    atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")
    self.path = path

  def entry_key(self, op: OpSpec) -> str | None:
    """The entry that prices `op`: its position-specific one (`block:N/KEY`) if the table has
    it, else its shape's; None if neither."""
    if op.position_key is not None and op.position_key in self.entries:
      return op.position_key
    return op.key if op.key in self.entries else None

  def latency(self, key: str) -> float:
    entry = self.entries[key]
    return float(entry["median"] if entry.get("median") is not None else entry["mean"])

  def missing(self, keys) -> list[str]:
    return [k for k in keys if k not in self.entries]

  @property
  def calibration(self) -> tuple[float, float]:
    cal = self.metadata.get("calibration") or {}
    return float(cal.get("scale", 1.0)), float(cal.get("offset", 0.0))


def _check_entry(source: str, key: str, entry) -> dict:
  if not isinstance(entry, dict):
    raise UserError(f"{source}: entry {key!r} must be an object, got {type(entry).__name__}")
  mean = entry.get("mean")
  if not isinstance(mean, (int, float)) or not math.isfinite(mean) or mean < 0:
    raise UserError(f"{source}: entry {key!r} has no valid 'mean' (ms), got {mean!r}; "
                    "rebuild the table with tools/build_latency_table.py")
  return entry


def _from_yaml(path: str, text: str) -> LatencyTable:
  """The original code's format: `KEY: {count: n, mean: ms, var: ms^2}`."""
  import yaml
  try:
    data = yaml.safe_load(text)
  except yaml.YAMLError as e:
    raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
  if not isinstance(data, dict) or not data:
    raise UserError(f"{path}: expected a mapping of op keys to {{count, mean, var}}")
  entries = {}
  for key, entry in data.items():
    _check_entry(path, key, entry)
    var = float(entry.get("var", 0.0) or 0.0)
    entries[str(key)] = {"mean": float(entry["mean"]), "median": None,
                         "std": math.sqrt(max(var, 0.0)), "count": int(entry.get("count", 0))}
  meta = {"device": "unknown (original ProxylessNAS YAML table)", "runtime": "unknown",
          "source": os.path.basename(path), "estimated": False}
  return LatencyTable(meta, entries, path)


def load_table(path: str) -> LatencyTable:
  if not os.path.exists(path):
    raise UserError(f"latency table {path} does not exist")
  with open(path) as f:
    text = f.read()
  if path.endswith((".yaml", ".yml")):
    return _from_yaml(path, text)
  try:
    data = json.loads(text)
  except json.JSONDecodeError as e:
    raise UserError(f"{path}: corrupt latency table (not valid JSON: {e.msg} at line {e.lineno}); "
                    "rebuild it with tools/build_latency_table.py") from None
  if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
    raise UserError(f"{path}: not a latency table (expected 'metadata' and 'entries' objects)")
  entries = {key: _check_entry(path, key, entry) for key, entry in data["entries"].items()}
  partial = data.get("partial") or {}
  if not isinstance(partial, dict) or not all(
      isinstance(rounds, list) and all(isinstance(r, dict) for r in rounds)
      for rounds in partial.values()):
    raise UserError(f"{path}: corrupt 'partial' rounds; delete that field to re-measure those ops")
  partial = {key: [_check_entry(path, key, r) for r in rounds] for key, rounds in partial.items()}
  return LatencyTable(data.get("metadata") or {}, entries, path, partial)


class TableCostModel(CostModel):
  """Per-op latency from a measured (or estimated) table, in ms."""

  unit = "ms"

  def __init__(self, table: LatencyTable):
    self.table = table
    self.scale, self.offset = table.calibration
    meta = table.metadata
    self.name = f"table {os.path.basename(table.path or '?')}"
    if meta.get("estimated"):
      self.notice = (f"the latency table {table.path} is an ESTIMATE ({meta.get('device')}), "
                     "not a measurement; measure your phone with `python tools/"
                     "build_latency_table.py --device=android --out=TABLE.json` and pass "
                     "--latency_table=TABLE.json")

  def check_covers(self, ops) -> None:
    missing = sorted({op.key for op in ops if self.table.entry_key(op) is None})
    if missing:
      shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
      raise UserError(f"latency table {self.table.path} lacks {len(missing)} op(s) this space needs: "
                      f"{shown}; extend it with tools/build_latency_table.py (same --out resumes)")

  def op_cost(self, op: OpSpec) -> float:
    return self.table.latency(self.table.entry_key(op) or op.key)
