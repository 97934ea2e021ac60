"""What the benchmarks and studies share: writing their BENCHMARKS.md section, the host line beside
every latency, the child-process result protocol, a resumable state file, a timestamped log, and
rank correlation. Everything else a benchmark needs comes from the `proxyless_tf` package.

Run a benchmark from the repository root as a module (`python -m benchmarks.search_cost`,
`python -m benchmarks.studies.supernet_ranking`): the root is then on the import path, and no
script edits `sys.path`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from proxyless_tf.latency.identity import host_line
from proxyless_tf.utils.sections import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS_MD = os.path.join(ROOT, "BENCHMARKS.md")
__all__ = ["ROOT", "BENCHMARKS_MD", "RESULT", "publish", "host_line", "emit_result", "parse_result",
           "run_child", "module_argv", "State", "load_results", "save_results", "log",
           "kendall_tau"]
RESULT = "RESULT "  # the prefix of a child process's one JSON result line


def publish(key: str, lines: list[str], path: str = BENCHMARKS_MD) -> None:
  """Prints a benchmark's section and writes it into BENCHMARKS.md (replacing its last version)."""
  body = "\n".join(lines)
  print(body)
  write_section(key, body, path)


# -- child processes ---------------------------------------------------------------------------------
# A measurement that must start cold (a fresh process: its own compile caches, its own peak RSS)
# runs as a child that prints one `RESULT {json}` line; the parent reads it back.

def emit_result(result: dict) -> None:
  """In a child: the result line the parent reads."""
  print(RESULT + json.dumps(result), flush=True)


def parse_result(stdout: str) -> dict | None:
  """The last result line of a child's output, or None."""
  lines = [line for line in stdout.splitlines() if line.startswith(RESULT)]
  return json.loads(lines[-1][len(RESULT):]) if lines else None


def run_child(argv: list[str], what: str, **kwargs) -> dict:
  """Runs `python ARGV` from the repository root and returns its result; exits with the child's
  last error output when it gave none."""
  kwargs.setdefault("cwd", ROOT)
  proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, **kwargs)
  result = parse_result(proc.stdout)
  if proc.returncode != 0 or result is None:
    sys.exit(f"{what} failed:\n{proc.stderr[-3000:]}")
  return result


def module_argv(module: str, *args: str) -> list[str]:
  """`-m MODULE ARGS...`: how a benchmark runs itself as a child."""
  return ["-m", module, *args]


# -- long experiments ---------------------------------------------------------------------------------

class State:
  """A study's finished steps in `OUT/state.json`, written atomically after each: a killed study
  re-run with the same --out skips what it already did."""

  def __init__(self, out: str):
    self.path = os.path.join(out, "state.json")
    self.data = json.load(open(self.path)) if os.path.exists(self.path) else {}

  def get(self, key):
    return self.data.get(key)

  def put(self, key, value):
    self.data[key] = value
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      json.dump(self.data, f, indent=1)
    os.replace(tmp, self.path)
    return value


def load_results(path: str) -> dict:
  """A benchmark's cached results (what it measured before), or {}."""
  return json.load(open(path)) if os.path.exists(path) else {}


def save_results(path: str, results: dict) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(results, f, indent=1)
  os.replace(tmp, path)


def log(*parts) -> None:
  print(time.strftime("%H:%M:%S"), *parts, flush=True)


def kendall_tau(a, b) -> float:
  """Kendall's tau-a: (concordant - discordant pairs) / all pairs. A tie in either list counts as
  neither, so tied accuracies pull tau toward 0 (scipy's tau-b would rescale them away)."""
  a, b = np.asarray(a), np.asarray(b)
  n, s = len(a), 0
  for i in range(n):
    for j in range(i + 1, n):
      s += np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
  return float(s / (n * (n - 1) / 2))
