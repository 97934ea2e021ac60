"""Latency of a .tflite on this machine through the LiteRT interpreter (XNNPACK on by default)."""

from __future__ import annotations

import dataclasses
import os
import platform
import time

import numpy as np

from proxyless_tf import litert
from proxyless_tf.errors import UserError


@dataclasses.dataclass
class BenchmarkResult:
  """Per-run latencies in ms where known; `summary` always holds median/p10/p90/mean/std/count."""

  model: str
  device: str
  settings: dict
  summary: dict
  times_ms: list[float] = dataclasses.field(default_factory=list)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


def summarize(times_ms) -> dict:
  t = np.asarray(times_ms, dtype=np.float64)
  return {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
          "p90_ms": float(np.percentile(t, 90)), "mean_ms": float(t.mean()),
          "std_ms": float(t.std()), "min_ms": float(t.min()), "max_ms": float(t.max()),
          "count": int(t.size)}


def cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def _random_input(detail, rng):
  shape, dtype = detail["shape"], detail["dtype"]
  if np.issubdtype(dtype, np.integer):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
  return rng.standard_normal(shape).astype(dtype)


def time_interpreter(interpreter, warmup: int, runs: int, seed: int = 0,
                     between=None) -> list[float]:
  """Per-run latencies (ms); `between()`, if given, runs untimed before each timed invoke."""
  rng = np.random.default_rng(seed)
  for detail in interpreter.get_input_details():
    interpreter.set_tensor(detail["index"], _random_input(detail, rng))
  for _ in range(warmup):
    interpreter.invoke()
  times = []
  for _ in range(runs):
    if between is not None:
      between()
    start = time.perf_counter()
    interpreter.invoke()
    times.append((time.perf_counter() - start) * 1e3)
  return times


def benchmark_host(model_path: str | None = None, *, model_content: bytes | None = None,
                   num_threads: int = 1, warmup: int = 10, runs: int = 50) -> BenchmarkResult:
  if model_path is not None and not os.path.exists(model_path):
    raise UserError(f"model file {model_path} does not exist")
  if runs < 1 or warmup < 0 or num_threads < 1:
    raise UserError("need --runs >= 1, --warmup >= 0 and --num_threads >= 1")
  interpreter = litert.make_interpreter(model_path, model_content, num_threads=num_threads)
  times = time_interpreter(interpreter, warmup, runs)
  settings = {"runtime": litert.runtime_version(), "num_threads": num_threads, "warmup": warmup,
              "runs": runs, "delegate": "xnnpack (default)"}
  return BenchmarkResult(model_path or "<bytes>", f"host: {cpu_model()}", settings,
                         summarize(times), times)


def time_interleaved(files: dict, rounds: int, runs: int, num_threads: int = 1,
                     progress=None) -> dict:
  """Median latency (ms) of each .tflite file, timed in interleaved rounds (every file once per
  round) so that drift of a shared, noisy machine hits all files alike."""
  interpreters = {k: litert.make_interpreter(model_path=p, num_threads=num_threads)
                  for k, p in files.items()}
  samples = {k: [] for k in files}
  for _ in range(rounds):
    for key, interpreter in interpreters.items():
      samples[key].append(float(np.median(time_interpreter(interpreter, 5, runs))))
      if progress is not None:
        progress.update(1)
  return {k: float(np.median(v)) for k, v in samples.items()}
