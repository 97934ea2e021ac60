"""`--target=cpu` without a table: measure this machine once, cache per device identity.

The cache key is the device's fingerprint (CPU family/model/stepping, ISA features, CPUs,
runtime; `identity.py`), not its name: hosts that call themselves alike differ by 15-27%. A new
table checks itself on whole networks when it is built (and stores its correction); a reused
one is re-checked on a few networks each time (its canary cancels the machine's drift since the
build), and says when it no longer holds.
"""

from __future__ import annotations

import os
import re

from proxyless_tf.benchmark.host import cpu_model
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency.cost_model import CostModel
from proxyless_tf.latency.identity import fingerprint, host_identity

SELF_CHECK_SAMPLES = 30  # the per-kind correction fits ~5-8 factors: >= 30 networks
QUICK_CHECK_SAMPLES = 3
# A reused table whose quick check misses by more than this no longer describes the machine.
STALE_MAE_PCT = 5.0


def cache_dir() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "proxyless_tf", "latency")


def cache_path(space, precision: str, num_threads: int,
               max_depthwise_taps: int | None = XNNPACK_MAX_TAPS) -> str:
  cpu = re.sub(r"[^A-Za-z0-9]+", "_", cpu_model()).strip("_").lower() or "cpu"
  split = f"-dw{max_depthwise_taps}" if max_depthwise_taps else "-dwfull"
  name = (f"{cpu}-{fingerprint(host_identity())}-t{num_threads}-{precision}{split}-{space.name}-"
          f"{space.input_size}x{space.input_channels}-c{space.num_classes}.json")
  return os.path.join(cache_dir(), name)


def quick_check(table, samples: int = QUICK_CHECK_SAMPLES, rounds: int = 3, log=print) -> dict:
  """A few random networks measured now (each after the canary) against the table (seconds).
  The machine's drift since the build is the speed factor, cancelled; what remains is whether
  the table still describes this machine."""
  import time
  from proxyless_tf.latency.validate import measurer_for, validate_table
  seed = int(time.time()) % 100_000  # new networks each time: the table is never graded on its own
  report = validate_table(table, samples, rounds, seed, fit=False,
                          measure=measurer_for(table.metadata), log=lambda *_: None)
  mae, speed = report["all"]["mae_pct"], report["speed_factor"]
  table.metadata["last_check"] = {"samples": samples, "seed": seed, "mae_pct": round(mae, 3),
                                  "raw_mae_pct": round(report["raw"]["mae_pct"], 3),
                                  "speed_factor": None if speed is None else round(speed, 4),
                                  "busy": report["busy"], "date": time.strftime("%Y-%m-%d %H:%M")}
  table.save()
  factor = "" if speed is None else f" (speed factor {speed:.3f}: the machine runs " + (
      f"{abs(speed - 1) * 100:.1f}% {'slower' if speed > 1 else 'faster'} than at the build)")
  if mae > STALE_MAE_PCT:
    log(f"WARNING: the cached latency table does not hold on this machine now: {mae:.1f}% mean "
        f"abs error on {samples} networks measured now at the build's speed (bound "
        f"{STALE_MAE_PCT:g}%){factor}. If the machine is not busy, rebuild it with "
        "--rebuild_latency_table")
  else:
    log(f"quick check of the cached table: {mae:.1f}% mean abs error on {samples} networks "
        f"measured now, at the build's speed{factor}" +
        (" (machine busy: noisy)" if report["busy"] else ""))
  if speed is None:
    from proxyless_tf.latency.canary import NO_CANARY
    log(f"NOTE: {NO_CANARY}")
  return report


XLA_SELF_CHECK_SAMPLES = 10  # compiling a network costs seconds: the global correction needs >= 4


def xla_cache_path(space, dtype: str, batch_size: int) -> str:
  """A GPU (XLA) table's cache file: keyed by the device's fingerprint (GPU, driver, CUDA, backend
  and version; or the CPU it runs on), type and batch."""
  from proxyless_tf.latency.xla import xla_identity
  identity = xla_identity()
  device = identity.get("gpu") or f"{identity.get('cpu', 'cpu')} cpu"
  device = re.sub(r"[^A-Za-z0-9]+", "_", device).strip("_").lower() or "device"
  name = (f"xla-{identity['backend']}-{device}-{fingerprint(identity)}-b{batch_size}-{dtype}-"
          f"{space.name}-{space.input_size}x{space.input_channels}-c{space.num_classes}.json")
  return os.path.join(cache_dir(), name)


class HostCachedCostModel(CostModel):
  """Becomes a TableCostModel once `prepare(space)` knows the task's exact shapes."""

  unit = "ms"
  target = "cpu"  # the --target it stands for, in its announcement

  def __init__(self, precision: str = "float", num_threads: int = 1, log=print,
               max_depthwise_taps: int | None = XNNPACK_MAX_TAPS, rebuild: bool = False,
               check: bool = True):
    self.precision, self.num_threads, self.log = precision, num_threads, log
    self.max_depthwise_taps, self.rebuild, self.check = max_depthwise_taps, rebuild, check
    self.name = "host table"
    self._table_model = None

  def _self_check_samples(self) -> int:
    return SELF_CHECK_SAMPLES

  def _cache(self, space) -> tuple[str, list, dict, str]:
    """(cache file, measurers, table metadata, what is measured: for the announcement)."""
    from proxyless_tf.latency.builder import host_metadata
    from proxyless_tf.latency.measure import HostMeasurer
    path = cache_path(space, self.precision, self.num_threads, self.max_depthwise_taps)
    return (path, [HostMeasurer(self.num_threads, max_depthwise_taps=self.max_depthwise_taps)],
            host_metadata(self.num_threads, self.precision, self.max_depthwise_taps),
            "the latency table of this CPU")

  def prepare(self, space) -> None:
    from proxyless_tf.latency.builder import build_space_table, checked_error_line
    from proxyless_tf.latency.table import TableCostModel
    path, measurers, metadata, what = self._cache(space)
    from proxyless_tf.utils.run_lock import holding_file
    # searches share the cache: one at a time builds or re-checks a table, the others wait for
    # nothing they need not (they are told who holds it)
    with holding_file(path, "latency table build", self.log,
                      "wait for it to end (later searches reuse its table), or pass "
                      "--latency_table=TABLE.json"):
      if self.rebuild and os.path.exists(path):
        os.remove(path)
        self.log(f"--rebuild_latency_table: removed {path}")
      reused = os.path.exists(path) and self._readable(path)
      self.log(f"--target={self.target}: {'reusing' if reused else 'building'} {what} at "
               f"{path} (once per device identity and space; later searches reuse it)")
      table = build_space_table(space, path, measurers, self.precision, metadata, log=self.log,
                                self_check_samples=self._self_check_samples() if self.check
                                else 0)
      if reused:
        self.log(checked_error_line(table))
        if self.check:
          quick_check(table, log=self.log)
    self._table_model = TableCostModel(table)
    self.scale, self.offset, self.name = (self._table_model.scale, self._table_model.offset,
                                          self._table_model.name)

  def _readable(self, path: str) -> bool:
    """A damaged cached table (a disk that filled, a hand edit) is set aside and built anew."""
    from proxyless_tf.errors import UserError
    from proxyless_tf.latency.table import load_table
    from proxyless_tf.utils.files import set_aside
    try:
      load_table(path, log=self.log)
      return True
    except UserError as err:
      why = str(err).removeprefix(f"{path}: ").removeprefix(path).strip(" :")
      set_aside(path, why[:160] or "unreadable", "it is measured again", self.log)
      return False

  @property
  def table(self):
    """The measured table (after `prepare`)."""
    return None if self._table_model is None else self._table_model.table

  def check_covers(self, ops) -> None:
    self._table_model.check_covers(ops)

  def op_cost(self, op) -> float:
    return self._table_model.op_cost(op)


class XlaCachedCostModel(HostCachedCostModel):
  """`--target=gpu` without a table: this machine's GPU (XLA, batch `batch_size`, `dtype`)
  measured once and cached like the CPU's; on a machine without a GPU the backend's CPU, and
  the announcement says so."""

  target = "gpu"

  def _self_check_samples(self) -> int:
    return XLA_SELF_CHECK_SAMPLES

  def __init__(self, dtype: str = "float32", batch_size: int = 8, log=print,
               rebuild: bool = False, check: bool = True):
    from proxyless_tf.latency.xla import check_dtype
    super().__init__(check_dtype(dtype), 1, log, None, rebuild, check)
    self.batch_size = batch_size
    self.name = "gpu table"

  def _cache(self, space):
    from proxyless_tf.latency.xla import XlaMeasurer, xla_metadata
    metadata = xla_metadata(self.batch_size, self.precision)
    where = ("this machine's GPU" if metadata["accelerator"] == "gpu" else
             "no GPU is visible: this machine's CPU through the same XLA path, so its "
             "milliseconds are not a GPU's")
    return (xla_cache_path(space, self.precision, self.batch_size),
            [XlaMeasurer(self.batch_size, self.precision)], metadata,
            f"the XLA latency table (batch {self.batch_size}, {self.precision}; {where})")
