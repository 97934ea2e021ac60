"""Measuring ops: each op exported alone as a tiny TFLite model (`op_models.py`) and timed on the
target, in rounds, beside a canary op that tracks the machine's drift (`canary.py`)."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import numpy as np

from proxyless_tf.benchmark.host import benchmark_host
from proxyless_tf.errors import UserError
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS
from proxyless_tf.latency import op_models
from proxyless_tf.latency.canary import median_ms, timed_with_canary
from proxyless_tf.latency.ops import OpSpec
from proxyless_tf.utils.progress import Progress


def entry_from_summary(summary: dict) -> dict:
  return {"mean": summary["mean_ms"], "median": summary.get("median_ms"),
          "std": summary.get("std_ms"), "count": summary.get("count")}


def merge_rounds(rounds: list[dict]) -> dict:
  """One entry from interleaved rounds: median of the round medians (a round disturbed by
  another process is outvoted), mean of the means, pooled std, total count. Rounds timed with
  the canary (`canary`: its median just before) also give `ratio`, the median over rounds of
  op / canary, and `canary`, the canary's median over them (`canary.py`)."""
  means = np.array([r["mean"] for r in rounds], float)
  medians = np.array([r["median"] if r.get("median") is not None else r["mean"] for r in rounds])
  stds = np.array([r.get("std") or 0.0 for r in rounds], float)
  merged = {"mean": float(means.mean()), "median": float(np.median(medians)),
            "std": float(np.sqrt(np.mean(stds ** 2) + means.var())),
            "count": int(sum(r.get("count") or 0 for r in rounds))}
  canaries = np.array([r.get("canary") or 0.0 for r in rounds], float)
  if np.all(canaries > 0):
    merged["ratio"] = float(np.median(medians / canaries))
    merged["canary"] = float(np.median(canaries))
  return merged


class _ModelCache:
  """Op models converted once, kept for the later rounds (conversion costs more than timing)."""

  def __init__(self, max_depthwise_taps: int | None = XNNPACK_MAX_TAPS):
    self._models = {}
    self.max_depthwise_taps = max_depthwise_taps

  def model(self, op: OpSpec, precision: str) -> bytes:
    key = (op.key, precision)
    if key not in self._models:
      self._models[key] = op_models.op_tflite(op, precision,
                                              max_depthwise_taps=self.max_depthwise_taps)
    return self._models[key]


class HostMeasurer(_ModelCache):
  """LiteRT on this machine; `runs` timed runs per round (see `build_table`'s rounds)."""

  default_rounds = 5

  def __init__(self, num_threads: int = 1, warmup: int = 10, runs: int = 30,
               max_depthwise_taps: int | None = XNNPACK_MAX_TAPS):
    super().__init__(max_depthwise_taps)
    self.num_threads, self.warmup, self.runs = num_threads, warmup, runs
    self.name = "host"

  def __call__(self, op: OpSpec, precision: str) -> dict:
    result = benchmark_host(model_content=self.model(op, precision), num_threads=self.num_threads,
                            warmup=self.warmup, runs=self.runs)
    return entry_from_summary(result.summary)


_CHILD_MEASURER = {}


def _pin_to_cores(cores: tuple[int, ...]) -> None:
  import os
  if cores and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, cores)


def _measure_in_child(op: OpSpec, precision: str, settings: tuple, measure: str | None) -> dict:
  """Runs in a measuring process: its own HostMeasurer (model cache) or a `module:function`."""
  if measure:
    import importlib
    module, name = measure.split(":")
    return getattr(importlib.import_module(module), name)(op, precision)
  if settings not in _CHILD_MEASURER:
    _CHILD_MEASURER[settings] = HostMeasurer(*settings)
  return _CHILD_MEASURER[settings](op, precision)


class ProcessHostMeasurer:
  """A HostMeasurer in a process of its own, pinned to its own cores: several of them build one
  host table in parallel on a many-core machine (`python -m proxyless_tf.tools.build_latency_table --processes=N`),
  each op timed alone on its cores as a serial build would. `measure` ("module:function") swaps
  the timing for another function (tests: a build over processes equals a serial one)."""

  default_rounds = HostMeasurer.default_rounds

  def __init__(self, cores: tuple[int, ...], num_threads: int = 1, warmup: int = 10,
               runs: int = 30, max_depthwise_taps: int | None = XNNPACK_MAX_TAPS,
               measure: str | None = None):
    import multiprocessing
    self.cores = tuple(cores)
    self.name = f"host:cores{','.join(map(str, self.cores))}"
    self.settings = (num_threads, warmup, runs, max_depthwise_taps)
    self.measure = measure
    self.pool = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=_pin_to_cores,
        initargs=(self.cores,))

  def __call__(self, op: OpSpec, precision: str) -> dict:
    return self.pool.submit(_measure_in_child, op, precision, self.settings, self.measure).result()

  def close(self) -> None:
    self.pool.shutdown()


def host_process_measurers(processes: int, num_threads: int = 1, **kwargs) -> list:
  """`processes` measurers on disjoint sets of `num_threads` cores each."""
  import os
  available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
  if available and processes * num_threads > len(available):
    raise UserError(f"--processes={processes} x --num_threads={num_threads} needs "
                    f"{processes * num_threads} cores; this machine lets this process use "
                    f"{len(available)}")
  return [ProcessHostMeasurer(tuple(available[i * num_threads:(i + 1) * num_threads]),
                              num_threads, **kwargs) for i in range(processes)]


class AndroidMeasurer(_ModelCache):
  """One phone: adb push of each op model + `benchmark_model` (the spine's adb path)."""

  default_rounds = 1  # each round is another push and process start per op

  def __init__(self, serial: str | None, num_threads: int = 1, warmup: int = 20, runs: int = 100,
               delegate: str = "xnnpack", benchmark_binary: str | None = None,
               max_depthwise_taps: int | None = XNNPACK_MAX_TAPS):
    super().__init__(max_depthwise_taps)
    from proxyless_tf.benchmark.android import Adb
    self.adb = Adb(serial)
    self.name = f"android:{self.adb.serial}"
    self.num_threads, self.warmup, self.runs = num_threads, warmup, runs
    self.delegate, self.binary = delegate, benchmark_binary
    self._binary_pushed = False

  def __call__(self, op: OpSpec, precision: str) -> dict:
    from proxyless_tf.benchmark.android import benchmark_android_content
    result = benchmark_android_content(
        self.model(op, precision), "op.tflite", num_threads=self.num_threads, warmup=self.warmup,
        runs=self.runs, delegate=self.delegate, adb=self.adb,
        benchmark_binary=None if self._binary_pushed else self.binary)
    self._binary_pushed = True
    return entry_from_summary(result.summary)


def build_table(table, ops, measurers, precision: str, rounds: int = 1,
                save_every_s: float = 10.0, log=print, canary: OpSpec | None = None) -> None:
  """Measures the ops `table` lacks, spreading them over `measurers` (one thread each), saving
  the table atomically as it goes: an interrupted build keeps what it measured.

  With `rounds` > 1 every op is measured once per round, round after round over all ops, and its
  entry is `merge_rounds` of its rounds: a slow spell of the machine (another process, frequency
  changes) then lands on every op a little instead of on the few measured during it, which would
  bias their entries and the predicted latency of every architecture that uses them. Rounds
  measured so far live in `table.partial`, so an interrupted build resumes them too.
  """
  if rounds < 1:
    raise UserError(f"--rounds must be >= 1, got {rounds}")
  todo = [op for op in ops if op.key not in table.entries]
  skipped = len(ops) - len(todo)
  kept = sum(min(len(table.partial.get(op.key, [])), rounds) for op in todo)
  if skipped or kept:
    log(f"resuming {table.path}: {skipped} of {len(ops)} ops done, {kept} of the other "
        f"{len(todo)} ops' {len(todo) * rounds} rounds kept; measuring the rest")
  if not todo:
    return
  tasks = [op for r in range(rounds) for op in todo if len(table.partial.get(op.key, [])) <= r]
  progress = Progress(len(tasks), "latency table")
  lock = threading.Lock()
  last_save = [time.monotonic()]
  queue = list(reversed(tasks))

  def worker(measure):
    while True:
      with lock:
        if not queue:
          return
        op = queue.pop()
      if canary is not None:
        entry, reference = timed_with_canary(lambda o: measure(o, precision), canary, op)
        entry = dict(entry, canary=median_ms(reference))
      else:
        entry = measure(op, precision)
      with lock:
        done = table.partial.setdefault(op.key, [])
        done.append(entry)
        if len(done) >= rounds:
          table.entries[op.key] = (merge_rounds(done) if rounds > 1 or canary is not None
                                   else done[0])
          del table.partial[op.key]
        progress.update(1, last=f"{entry['mean']:.3f}ms")
        if time.monotonic() - last_save[0] > save_every_s:
          table.save()
          last_save[0] = time.monotonic()

  try:
    if len(measurers) == 1:
      worker(measurers[0])
    else:
      with concurrent.futures.ThreadPoolExecutor(len(measurers)) as pool:
        for future in [pool.submit(worker, m) for m in measurers]:
          future.result()
  finally:
    if canary is not None:
      record_canary(table, canary)
    table.save()
    progress.close()


def record_canary(table, canary: OpSpec) -> None:
  """The table's canary: which op, and its median over the build's measurements."""
  times = [e["canary"] for e in table.entries.values() if e.get("canary")]
  if times:
    table.metadata["canary"] = {"op": canary.key, "median_ms": float(np.median(times)),
                                "measurements": len(times)}


def check_precision(precision: str) -> str:
  if precision not in ("float", "int8"):
    raise UserError(f"--precision must be float or int8, got {precision!r}")
  return precision
