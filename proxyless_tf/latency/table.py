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
from proxyless_tf.utils.json_input import parse_json, read_bytes

ENTRY_FIELDS = ("mean", "median", "std", "count")
PRECISIONS = ("float", "int8", "float32", "float16", "bfloat16")  # TFLite; XLA (`xla.py`)


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
    """ms at the machine's speed during the build: `ratio x canary ms` where the entry was timed
    with the canary (drift during the build cancelled), else its median."""
    entry = self.entries[key]
    canary = (self.metadata.get("canary") or {}).get("median_ms")
    if entry.get("ratio") is not None and canary:
      return float(entry["ratio"]) * float(canary)
    return float(entry["median"] if entry.get("median") is not None else entry["mean"])

  def missing(self, keys) -> list[str]:
    return [k for k in keys if k not in self.entries]

  @property
  def correction(self) -> dict | None:
    """What the table's self-check fitted (`correction.py`): `metadata.correction`, or an older
    table's `calibration` (a global offset + scale); None when nothing was fitted."""
    correction = self.metadata.get("correction")
    if correction:
      return correction
    cal = self.metadata.get("calibration")
    if cal:
      return {"method": "global", "scale": cal.get("scale", 1.0), "offset": cal.get("offset", 0.0)}
    return None

  @property
  def calibration(self) -> tuple[float, float]:
    """(scale, offset) on the sum of ops: a global correction's, else (1, 0)."""
    cal = self.correction or {}
    if cal.get("method") != "global":
      return 1.0, 0.0
    return float(cal.get("scale", 1.0)), float(cal.get("offset", 0.0))

  def op_latency(self, op: OpSpec) -> float:
    """`op`'s entry, times its factor where the correction is per op kind and resolution."""
    from proxyless_tf.latency.correction import op_factor
    return self.latency(self.entry_key(op) or op.key) * op_factor(self.correction, op)


def model_entry(ms: float) -> dict:
  """An entry computed by a model (an estimate, a converted cost model), not measured."""
  return {"mean": float(ms), "median": float(ms), "std": 0.0, "count": 0}


def _finite(value, low: float = 0.0) -> bool:
  return (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and value >= low)


def _check_entry(source: str, key: str, entry, yaml_format: bool = False) -> dict:
  """An entry's numbers are finite, non-negative milliseconds; `count` a whole number."""
  if not isinstance(entry, dict):
    raise UserError(f"{source}: entry {key!r:.80} must be an object, got {type(entry).__name__}")
  rebuild = "; rebuild the table with python -m proxyless_tf.tools.build_latency_table"
  if not _finite(entry.get("mean")):
    raise UserError(f"{source}: entry {key!r:.80} field 'mean' must be a finite number >= 0 (ms), "
                    f"got {entry.get('mean')!r:.40}{rebuild}")
  for field in ("var",) if yaml_format else ("median", "std", "ratio", "canary"):
    value = entry.get(field)
    if value is not None and not _finite(value):
      raise UserError(f"{source}: entry {key!r:.80} field {field!r} must be a finite number >= 0 "
                      f"or absent, got {value!r:.40}{rebuild}")
  count = entry.get("count")
  if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
    raise UserError(f"{source}: entry {key!r:.80} field 'count' must be a whole number >= 0, got "
                    f"{count!r:.40}{rebuild}")
  return entry


def _check_metadata(source: str, metadata) -> dict:
  if metadata is None:
    return {}
  if not isinstance(metadata, dict):
    raise UserError(f"{source}: 'metadata' must be an object, got {type(metadata).__name__}")
  calibration = metadata.get("calibration")
  if calibration is not None:
    if not isinstance(calibration, dict):
      raise UserError(f"{source}: metadata 'calibration' must be an object {{scale, offset}}")
    scale, offset = calibration.get("scale", 1.0), calibration.get("offset", 0.0)
    if not _finite(scale) or scale <= 0:
      raise UserError(f"{source}: metadata calibration 'scale' must be a finite number > 0, got "
                      f"{scale!r:.40}; refit it with `python -m proxyless_tf.latency validate "
                      "--fit` or delete the field")
    if not _finite(offset, low=-math.inf):
      raise UserError(f"{source}: metadata calibration 'offset' must be a finite number, got "
                      f"{offset!r:.40}")
  canary = metadata.get("canary")
  if canary is not None and (not isinstance(canary, dict) or not _finite(canary.get("median_ms"))
                             or not canary.get("median_ms")):
    raise UserError(f"{source}: metadata 'canary' must be an object with a finite 'median_ms' > 0, "
                    f"got {canary!r:.60}; delete the field (the table then loads without drift "
                    "cancelling) or rebuild the table")
  correction = metadata.get("correction")
  if correction is not None:
    from proxyless_tf.latency.correction import METHODS
    factors = correction.get("factors", {}) if isinstance(correction, dict) else None
    if (not isinstance(correction, dict) or correction.get("method") not in METHODS
        or not isinstance(factors, dict)
        or not all(_finite(f) and f > 0 for f in factors.values())
        or not (isinstance(correction.get("fixed_ops", []), list)
                and all(isinstance(k, str) for k in correction.get("fixed_ops", [])))
        or (correction.get("method") == "global" and not (
            _finite(correction.get("scale")) and correction.get("scale") > 0
            and _finite(correction.get("offset"), low=-math.inf)))):
      raise UserError(f"{source}: metadata 'correction' must be {{method: one of "
                      f"{list(METHODS)}, ...}} with finite factors > 0 (or scale > 0 and a "
                      f"finite offset), got {correction!r:.80}; refit it with `python -m "
                      "proxyless_tf.latency validate --fit` or delete the field")
  precision = metadata.get("precision")
  if precision is not None and precision not in PRECISIONS:
    raise UserError(f"{source}: metadata 'precision' must be one of {list(PRECISIONS)}, got "
                    f"{precision!r:.40}")
  return metadata


def _from_yaml(path: str, text: str) -> LatencyTable:
  """The original code's format: `KEY: {count: n, mean: ms, var: ms^2}`."""
  import yaml
  try:
    data = yaml.safe_load(text)
  except yaml.YAMLError as e:
    raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
  except (RecursionError, ValueError) as e:
    raise UserError(f"{path}: not a latency table ({type(e).__name__})") from None
  if not isinstance(data, dict) or not data:
    raise UserError(f"{path}: expected a mapping of op keys to {{count, mean, var}}")
  entries = {}
  for key, entry in data.items():
    _check_entry(path, key, entry, yaml_format=True)
    entries[str(key)] = {"mean": float(entry["mean"]), "median": None,
                         "std": math.sqrt(float(entry.get("var") or 0.0)),
                         "count": int(entry.get("count") or 0)}
  meta = {"device": "unknown (original ProxylessNAS YAML table)", "runtime": "unknown",
          "source": os.path.basename(path), "estimated": False}
  return LatencyTable(meta, entries, path)


def load_table(path: str, log=None) -> LatencyTable:
  """`log`: given by a build that resumes the file, a damaged `partial` (rounds of a build in
  progress) is dropped with a line and those rounds measured again, instead of an error."""
  raw = read_bytes(path, "latency table")
  if path.endswith((".yaml", ".yml")):
    try:
      text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      raise UserError(f"{path}: not UTF-8 text (offset {e.start}); save it as UTF-8") from None
    return _from_yaml(path, text)
  data = parse_json(raw, f"{path} (latency table)")
  if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
    raise UserError(f"{path}: not a latency table (expected 'metadata' and 'entries' objects); "
                    "build one with python -m proxyless_tf.tools.build_latency_table")
  entries = {key: _check_entry(path, key, entry) for key, entry in data["entries"].items()}
  partial = data.get("partial") or {}
  try:
    if not isinstance(partial, dict) or not all(
        isinstance(rounds, list) and all(isinstance(r, dict) for r in rounds)
        for rounds in partial.values()):
      raise UserError(f"{path}: corrupt 'partial' rounds; delete that field to re-measure those "
                      "ops")
    partial = {key: [_check_entry(path, key, r) for r in rounds]
               for key, rounds in partial.items()}
  except UserError as err:
    if log is None:
      raise
    log(f"{err} (dropped: those rounds are measured again)")
    partial = {}
  return LatencyTable(_check_metadata(path, data.get("metadata")), entries, path, partial)


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
                     "not a measurement; measure your phone with `python -m proxyless_tf.tools."
                     "build_latency_table --device=android --out=TABLE.json` and pass "
                     "--latency_table=TABLE.json")

  def check_covers(self, ops) -> None:
    missing = sorted({op.key for op in ops if self.table.entry_key(op) is None})
    if missing:
      shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
      raise UserError(f"latency table {self.table.path} lacks {len(missing)} op(s) this space needs: "
                      f"{shown} (another input size, channel count or class count than the "
                      "table's?); measure them on the device with python -m proxyless_tf.tools.build_latency_table "
                      "(same --out resumes), or without a phone make a table for this space from "
                      "the estimate: python -m proxyless_tf.tools.estimate_latency_table --space=SPACE "
                      "--input_size=N --input_channels=C --num_classes=K --out=T.json and pass "
                      "--latency_table=T.json (README: --target=mobile on your own data)")

  def op_cost(self, op: OpSpec) -> float:
    return self.table.op_latency(op)
