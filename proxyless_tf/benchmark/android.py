"""Latency on an Android phone: adb push + TFLite's `benchmark_model`, output parsed.

`benchmark_model` reports microseconds: a `count=.. first=.. curr=.. min=.. max=.. avg=.. std=..`
line per phase (newer builds add `p5= median= p95=`) and a summary line
`Inference timings in us: Init: .., First inference: .., Warmup (avg): .., Inference (avg): ..`,
possibly in scientific notation and behind a log prefix (`INFO: `, logcat). When a delegate is
asked for, its "applied" / "Replacing N out of M node(s)" line is checked so that a silent
fallback to the CPU is caught instead of reported as a GPU latency.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from proxyless_tf.benchmark.host import BenchmarkResult
from proxyless_tf.errors import UserError

REMOTE_DIR = "/data/local/tmp"
# "xnnpack" is what an app's LiteRT interpreter uses on the CPU by default, so it is the default
# here too; "none" runs TFLite's builtin CPU kernels (`--use_xnnpack=false`).
DELEGATES = ("xnnpack", "none", "gpu", "nnapi")
_NUM = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_SUMMARY = re.compile(
    rf"Inference timings in us:\s*Init:\s*{_NUM},\s*First inference:\s*{_NUM},\s*"
    rf"Warmup \(avg\):\s*{_NUM},\s*Inference \(avg\):\s*{_NUM}")
_STAT = re.compile(rf"count=(\d+)\s+first={_NUM}\s+curr={_NUM}\s+min={_NUM}\s+max={_NUM}\s+"
                   rf"avg={_NUM}\s+std={_NUM}(?:\s+p5={_NUM}\s+median={_NUM}\s+p95={_NUM})?")
_REPLACED = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \((\w+)\)")


class Adb:
  """A thin wrapper over the real `adb` binary (found on PATH)."""

  def __init__(self, serial: str | None = None, adb: str = "adb", timeout_s: float = 600):
    self.adb = shutil.which(adb)
    if self.adb is None:
      raise UserError("adb not found on PATH: install Android platform-tools "
                      "(apt-get install adb, or the SDK's platform-tools) and connect a phone")
    self.timeout_s = timeout_s
    self.serial = self._pick_device(serial)

  def _run(self, args: list[str], serial: bool = True) -> str:
    cmd = [self.adb] + (["-s", self.serial] if serial and self.serial else []) + args
    try:
      proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s)
    except subprocess.TimeoutExpired:
      raise UserError(f"adb timed out after {self.timeout_s:.0f}s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
      detail = (proc.stderr or proc.stdout).strip().splitlines()
      raise UserError(f"adb failed ({' '.join(args[:2])}): {detail[-1] if detail else proc.returncode}")
    return proc.stdout

  def devices(self) -> list[str]:
    out = self._run(["devices"], serial=False)
    return [line.split()[0] for line in out.splitlines()[1:]
            if len(line.split()) >= 2 and line.split()[1] == "device"]

  def _pick_device(self, serial: str | None) -> str:
    self.serial = None
    devices = self.devices()
    if not devices:
      raise UserError("no Android device attached (`adb devices` lists none): connect a phone with "
                      "USB debugging on, or pass --serial for a networked one")
    if serial is None:
      if len(devices) > 1:
        raise UserError(f"several devices attached ({', '.join(devices)}): pick one with --serial")
      return devices[0]
    if serial not in devices:
      raise UserError(f"device {serial} is not attached; attached: {', '.join(devices)}")
    return serial

  def push(self, local: str, remote: str) -> None:
    self._run(["push", local, remote])

  def shell(self, command: str) -> str:
    return self._run(["shell", command])

  def getprop(self, name: str) -> str:
    return self.shell(f"getprop {name}").strip()


def benchmark_flags(graph: str, num_threads: int, warmup: int, runs: int, delegate: str) -> list[str]:
  if delegate not in DELEGATES:
    raise UserError(f"unknown delegate {delegate!r}; choose from {', '.join(DELEGATES)}")
  flags = [f"--graph={graph}", f"--num_threads={num_threads}", f"--num_runs={runs}",
           f"--warmup_runs={warmup}"]
  if delegate == "gpu":
    flags.append("--use_gpu=true")
  elif delegate == "nnapi":
    flags.append("--use_nnapi=true")
  elif delegate == "xnnpack":
    flags.append("--use_xnnpack=true")
  else:
    flags.append("--use_xnnpack=false")
  return flags


def parse_benchmark_output(output: str, delegate: str = "none") -> dict:
  """Summary in ms from `benchmark_model`'s output; raises UserError when it cannot be read."""
  match = None
  for match in _SUMMARY.finditer(output):
    pass
  if match is None:
    tail = [l for l in output.strip().splitlines() if l.strip()][-1:] or ["<no output>"]
    raise UserError("could not find 'Inference timings in us: ...' in benchmark_model's output "
                    f"(last line: {tail[0][:160]!r})")
  init, first, warmup_avg, inference_avg = (float(v) / 1e3 for v in match.groups())
  summary = {"init_ms": init, "first_ms": first, "warmup_avg_ms": warmup_avg,
             "mean_ms": inference_avg, "median_ms": None, "p10_ms": None, "p90_ms": None}
  stats = [s for s in _STAT.finditer(output[:match.start()])]
  if stats:
    s = stats[-1].groups()
    summary.update(count=int(s[0]), min_ms=float(s[3]) / 1e3, max_ms=float(s[4]) / 1e3,
                   std_ms=float(s[6]) / 1e3)
    if s[8] is not None:
      summary["median_ms"] = float(s[8]) / 1e3
  if delegate in ("gpu", "nnapi"):
    replaced = _REPLACED.findall(output)
    applied = re.search(rf"(Explicitly )?[Aa]pplied {delegate.upper()} delegate", output)
    if not applied and not any(int(n) > 0 for n, _, _ in replaced):
      raise UserError(f"benchmark_model did not apply the {delegate} delegate (the model ran on "
                      "the CPU); check the delegate is supported on this phone and model")
    if replaced:
      n, total, _ = replaced[-1]
      summary["delegated_nodes"] = f"{n}/{total}"
  return summary


def benchmark_android_content(content: bytes, name: str = "model.tflite",
                              **kwargs) -> BenchmarkResult:
  """`benchmark_android` of a model held in memory (an op model, a validation sample)."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
      f.write(content)
    return benchmark_android(path, **kwargs)


def benchmark_android(model_path: str, *, serial: str | None = None, num_threads: int = 1,
                      warmup: int = 10, runs: int = 50, delegate: str = "xnnpack",
                      benchmark_binary: str | None = None, adb: Adb | None = None) -> BenchmarkResult:
  if not os.path.exists(model_path):
    raise UserError(f"model file {model_path} does not exist")
  adb = adb or Adb(serial)
  remote_binary = f"{REMOTE_DIR}/benchmark_model"
  if benchmark_binary:
    if not os.path.exists(benchmark_binary):
      raise UserError(f"--benchmark_binary {benchmark_binary} does not exist (see BUILD.md)")
    adb.push(benchmark_binary, remote_binary)
    adb.shell(f"chmod +x {remote_binary}")
  elif "No such file" in adb.shell(f"ls {remote_binary} 2>&1"):
    raise UserError(f"{remote_binary} is not on the phone: pass --benchmark_binary=PATH "
                    "(how to build or download it: BUILD.md)")
  remote_model = f"{REMOTE_DIR}/{os.path.basename(model_path)}"
  adb.push(model_path, remote_model)
  flags = benchmark_flags(remote_model, num_threads, warmup, runs, delegate)
  output = adb.shell(" ".join([remote_binary] + flags))
  summary = parse_benchmark_output(output, delegate)
  device = f"android: {adb.getprop('ro.product.model')} ({adb.getprop('ro.board.platform')})"
  settings = {"runtime": "benchmark_model", "num_threads": num_threads, "warmup": warmup,
              "runs": runs, "delegate": delegate, "serial": adb.serial,
              "command": " ".join([remote_binary] + flags)}
  return BenchmarkResult(model_path, device, settings, summary)
