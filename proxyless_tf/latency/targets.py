"""Which cost model a `--target` means: a latency table, the FLOPs stand-in, or none."""

from __future__ import annotations

import os

from proxyless_tf.errors import UserError
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency.cost_model import CostModel, FlopsCostModel
from proxyless_tf.utils.files import PACKAGE_DIR


# What each target measures (README "Targets"): `gpu` is a desktop or server GPU timed where the
# table is built (XLA, batch 8: `xla.py`); `phone_gpu` a phone's GPU delegate over adb.
TARGETS = ("mobile", "cpu", "gpu", "phone_gpu", "flops", "none")
LITERT_PRECISIONS = ("float", "int8")


def table_target(metadata: dict) -> str | None:
  """Which target a table prices: recorded since `phone_gpu` / `gpu` were told apart; older
  tables by their device (a phone's GPU delegate was then `--target=gpu`)."""
  from proxyless_tf.latency.xla import is_xla_table
  if metadata.get("target"):
    return metadata["target"]
  if is_xla_table(metadata):
    return "gpu"
  device = str(metadata.get("device", ""))
  if device.startswith("android"):
    return "phone_gpu" if metadata.get("delegate") == "gpu" else "mobile"
  return "cpu" if device.startswith("host") else None


def _check_table_target(target: str, path: str, metadata: dict) -> None:
  measured = table_target(metadata)
  if target == "gpu" and measured == "phone_gpu":
    raise UserError(f"--latency_table {path} was measured with a phone's GPU delegate "
                    "(benchmark_model --use_gpu), which is --target=phone_gpu now; --target=gpu "
                    "is a desktop or server GPU (omit --latency_table to measure this machine's)")
  if (target == "gpu") != (measured == "gpu") and measured is not None:
    raise UserError(f"--latency_table {path} prices --target={measured}, not --target={target}; "
                    f"pass --target={measured} or a {target} table")


def _check_xla_table(table, strict: bool, log) -> None:
  """A GPU table used on another device or software stack than it was measured on: a warning
  (an error with `strict`), as for host tables."""
  from proxyless_tf.latency.identity import differences
  from proxyless_tf.latency.xla import xla_identity
  recorded = table.metadata.get("identity")
  if not isinstance(recorded, dict):
    return
  problems = differences(recorded, xla_identity())
  if not problems:
    return
  message = (f"latency table {table.path} was measured on another device ({'; '.join(problems)}): "
             "its milliseconds are that device's. Omit --latency_table to measure this one")
  if strict:
    raise UserError(message)
  log(f"WARNING: {message}")


def cost_model_for_target(target: str, table: str | None = None, precision: str = "float",
                          num_threads: int = 1, max_depthwise_taps: int | None = XNNPACK_MAX_TAPS,
                          rebuild_table: bool = False, strict_identity: bool = False, log=print,
                          batch_size: int = 8, estimate_uncovered: bool = False):
  """`log` gets the table's checked error and, for a host table measured on another machine, a
  warning (an error with `strict_identity`). `batch_size`: the GPU target's batch (the paper's 8);
  `precision` there is float32 ("float"), float16 or bfloat16. `estimate_uncovered` (a phone
  target whose table is its flag file's default, not the user's): where that table does not cover
  the task's space, or there is none, an estimated table stands in (`PhoneTableOrEstimate`)."""
  if target not in TARGETS:
    raise UserError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
  if target == "none":
    return None
  if target == "flops":
    return FlopsCostModel()
  if target == "gpu":
    from proxyless_tf.latency.xla import check_dtype
    precision = check_dtype(precision)
  elif precision not in LITERT_PRECISIONS:
    raise UserError(f"--precision={precision} is for --target=gpu; --target={target} measures "
                    f"TFLite models in {' or '.join(LITERT_PRECISIONS)}")
  from proxyless_tf.latency.builder import checked_error_line
  from proxyless_tf.latency.identity import check_host_table
  from proxyless_tf.latency.table import TableCostModel, load_table
  if target == "cpu" and not table:
    from proxyless_tf.latency.host_cache import HostCachedCostModel
    return HostCachedCostModel(precision, num_threads, log=log,
                               max_depthwise_taps=max_depthwise_taps, rebuild=rebuild_table)
  if target == "gpu" and not table:
    from proxyless_tf.latency.host_cache import XlaCachedCostModel
    return XlaCachedCostModel(precision, batch_size, log=log, rebuild=rebuild_table)
  how = ("python -m proxyless_tf.tools.build_latency_table --device=android --use_gpu --space=SPACE "
         "--out=TABLE.json" if target == "phone_gpu" else
         "python -m proxyless_tf.tools.build_latency_table --device=android --space=SPACE --out=TABLE.json")
  if not table and estimate_uncovered:
    return PhoneTableOrEstimate(target, None, precision, how, log)
  if not table:
    raise UserError(f"--target={target} needs --latency_table; measure one on the phone with `{how}`")
  if not os.path.exists(table) and not os.path.isabs(table):
    # flag files name the shipped tables as tables/NAME.json: package data
    shipped = os.path.join(PACKAGE_DIR, table)
    table = shipped if os.path.exists(shipped) else table
  if not os.path.exists(table):
    raise UserError(f"--latency_table {table} does not exist")
  loaded = load_table(table)
  _check_table_target(target, table, loaded.metadata)
  measured = loaded.metadata.get("precision")
  if measured is not None and measured != precision:
    raise UserError(f"--latency_table {table} measures {measured} models but --precision="
                    f"{precision}; pass --precision={measured} or a {precision} table")
  if target == "cpu":
    check_host_table(loaded, strict=strict_identity, log=log)
  if target == "gpu":
    _check_xla_table(loaded, strict_identity, log)
  derived = loaded.metadata.get("derived_from")
  if derived:
    log(f"latency table {os.path.basename(table)}: {loaded.metadata.get('device')}, from "
        f"{derived.get('repository')} ({', '.join(derived.get('files', [])[:1])})")
  elif not loaded.metadata.get("estimated"):
    log(checked_error_line(loaded))
  if estimate_uncovered and target in ("mobile", "phone_gpu"):
    return PhoneTableOrEstimate(target, TableCostModel(loaded), precision, how, log)
  return TableCostModel(loaded)


class PhoneTableOrEstimate(CostModel):
  """A phone target's default table where it covers the task's space; else (another input size,
  channel count or class count, or no table at all) a table ESTIMATED for exactly that space from
  published Pixel-1 latencies (`estimate.py`), written to the cache directory and announced as
  an estimate. What `--target=mobile --dataset=fashion_mnist_local` runs on without a phone."""

  unit = "ms"

  def __init__(self, target: str, table_model, precision: str, how: str, log=print):
    self.target, self.precision, self.how, self.log = target, precision, how, log
    self._model = table_model
    self.name = table_model.name if table_model is not None else f"{target} estimate"
    self.notice = getattr(table_model, "notice", None)
    self._sync()

  def _sync(self) -> None:
    if self._model is not None:
      self.scale, self.offset, self.name = self._model.scale, self._model.offset, self._model.name

  def prepare(self, space) -> None:
    from proxyless_tf.latency.ops import all_space_ops
    if self._model is not None:
      table = self._model.table
      if all(table.entry_key(op) is not None for op in all_space_ops(space)):
        return
      why = (f"its table {os.path.basename(table.path or '?')} was made for "
             f"{table.metadata.get('input_size', '?')} px, "
             f"{table.metadata.get('input_channels', '?')} channel(s), "
             f"{table.metadata.get('num_classes', '?')} classes")
    else:
      why = "no table of it was given"
    if self.precision != "float":
      raise UserError(f"--target={self.target}: {why}, and the estimate that stands in for a "
                      f"measurement is float only; measure the phone with `{self.how}`")
    from proxyless_tf.latency.estimate import estimated_table
    from proxyless_tf.latency.host_cache import cache_dir
    from proxyless_tf.latency.table import TableCostModel
    table = estimated_table(space, command=f"--target={self.target}")
    path = os.path.join(cache_dir(), f"estimated-pixel1-{space.name}-{space.input_size}x"
                        f"{space.input_channels}-c{space.num_classes}.json")
    table.save(path)
    phone = ("a phone's CPU, not its GPU delegate: no such estimate exists"
             if self.target == "phone_gpu" else "a Pixel-1-class phone")
    self.log(f"--target={self.target}: {why}; this search ({space.input_size} px, "
             f"{space.input_channels} channel(s), {space.num_classes} classes) is priced by a "
             f"table ESTIMATED for it from published Pixel-1 latencies ({phone}), written to "
             f"{path}; measure your phone with `{self.how}`")
    self._model = TableCostModel(table)
    self._model.notice = None
    self._sync()

  def _table_model(self):
    if self._model is None:
      raise UserError(f"--target={self.target}: no latency table yet (prepare(space) first)")
    return self._model

  def check_covers(self, ops) -> None:
    self._table_model().check_covers(ops)

  def op_cost(self, op) -> float:
    return self._table_model().op_cost(op)

  @property
  def table(self):
    return None if self._model is None else self._model.table
