"""How soon a search starts, and what its steady steps cost: this checkout beside an earlier one.

  python -m benchmarks.search_start --baseline=PATH [--space=proxyless --input_size=224
      --batch_size=8 --rounds=1] [--publish]
  python -m benchmarks.search_start --baseline=PATH --published=proxyless_cifar --batch_size=8

PATH is another checkout of proxyless_tf (e.g. `git worktree add /tmp/old <commit>`). Each row
is a fresh process (peak RSS is per process) that builds the supernet and its SearchSteps, then
times: the first 8 weight steps (warm-up sampling) and 4 `full_v2` arch steps after them,
program building included (what a user waits for before a search moves), then, after enough
steps that every candidate has run, the median steady weight and arch step. Code versions
alternate round by round, so the machine's drift falls on both alike.

With --published=NAME the rows are training that published net instead, as the CLI does
(`train._compiled_model` and Keras `fit` on one fixed batch): the time from the built model to
its first step (the program is built then), the first 8 steps, the steady step and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from benchmarks.common import ROOT, parse_result

CHILD = r"""
import json, resource, sys, time
import numpy as np
import tensorflow as tf
from proxyless_tf.search.steps import SearchSteps
from proxyless_tf.space.space import get_space
from proxyless_tf.supernet.supernet import build_supernet

space_name, size, batch, warm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
space = get_space(space_name)
if size != space.input_size:
  space = space.with_task(size, space.input_channels, space.num_classes)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.monotonic()
net = build_supernet(space)
steps = SearchSteps(net, tf.random.Generator.from_seed(3), "full_v2")
built = time.monotonic() - t0
rng = np.random.default_rng(0)
shape = (batch, space.input_size, space.input_size, space.input_channels)
x = rng.normal(size=shape).astype("float32")
y = rng.integers(0, space.num_classes, batch).astype("int32")
t = time.monotonic()
for _ in range(8):
  float(steps.weight_step(x, y, 0.01, uniform=True)[0])
for _ in range(4):
  float(steps.arch_step(x, y)[0])
first = time.monotonic() - t
first_rss = rss()
for _ in range(warm):  # every candidate sampled (uniformly) before the steady steps are timed
  float(steps.weight_step(x, y, 0.01, uniform=True)[0])
for _ in range(max(2, warm // 4)):
  float(steps.arch_step(x, y)[0])
def median(fn, n):
  times = []
  for _ in range(n):
    s = time.monotonic(); fn(); times.append(time.monotonic() - s)
  return float(np.median(times))
weight = median(lambda: float(steps.weight_step(x, y, 0.01)[0]), 7)
arch = median(lambda: float(steps.arch_step(x, y)[0]), 5)
print("RESULT " + json.dumps({"build_s": built, "first_8w_4a_s": first, "first_rss_mb": first_rss,
                              "weight_s": weight, "arch_s": arch, "peak_rss_mb": rss()}))
"""


TRAIN_CHILD = r"""
import json, resource, sys, time
import keras
import numpy as np
import tensorflow as tf
from proxyless_tf.arch.io import load_arch
from proxyless_tf.train import _compiled_model

name, batch = sys.argv[1], int(sys.argv[3])
config = load_arch(name)
t0 = time.monotonic()
model = _compiled_model(config, 1000, 0.05, 0.9, 4e-5, 0.1)
built = time.monotonic() - t0
rng = np.random.default_rng(0)
x = rng.normal(size=(batch, config.input_size, config.input_size, config.input_channels))
y = tf.one_hot(np.arange(batch) % config.num_classes, config.num_classes)
data = tf.data.Dataset.from_tensors((x.astype("float32"), y)).repeat()
ends = []

class Clock(keras.callbacks.Callback):
  def on_train_batch_end(self, batch, logs=None):
    ends.append(time.monotonic())

start = time.monotonic()
model.fit(data, steps_per_epoch=12, epochs=1, verbose=0, callbacks=[Clock()])
print("RESULT " + json.dumps({"build_s": built, "first_step_s": ends[0] - start,
                              "first_8_s": ends[7] - start,
                              "step_s": float(np.median(np.diff(ends[2:]))),
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                              / 1024}))
"""


def measure(checkout: str, space: str, size: int, batch: int, warm: int,
            child: str = CHILD) -> dict:
  env = {**os.environ, "PYTHONPATH": checkout, "TF_CPP_MIN_LOG_LEVEL": "3"}
  proc = subprocess.run([sys.executable, "-c", child, space, str(size), str(batch), str(warm)],
                        capture_output=True, text=True, env=env, cwd=checkout, timeout=3600)
  result = parse_result(proc.stdout)
  if proc.returncode != 0 or result is None:
    raise SystemExit(f"{checkout}: the measurement failed:\n{proc.stderr[-2000:]}")
  return result


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--baseline", default="",
                      help="another checkout of proxyless_tf (none: this checkout's rows only, "
                           "for a space the baseline cannot start)")
  parser.add_argument("--space", default="proxyless")
  parser.add_argument("--input_size", type=int, default=224)
  parser.add_argument("--batch_size", type=int, default=8)
  parser.add_argument("--warm", type=int, default=40, help="uniform weight steps before timing")
  parser.add_argument("--rounds", type=int, default=1)
  parser.add_argument("--publish", action="store_true", help="write the section to BENCHMARKS.md")
  parser.add_argument("--published", default="",
                      help="time training this published net (e.g. proxyless_cifar) instead")
  args = parser.parse_args()
  if args.published:
    return train_rows(args)
  from benchmarks.common import host_line, publish
  import numpy as np
  versions = {"before (baseline)": os.path.abspath(args.baseline), "this checkout": ROOT}
  if not args.baseline:
    del versions["before (baseline)"]
  results = {name: [] for name in versions}
  for r in range(args.rounds):
    for name in (list(versions) if r % 2 == 0 else list(versions)[::-1]):
      results[name].append(measure(versions[name], args.space, args.input_size, args.batch_size,
                                   args.warm))
      print(name, results[name][-1], flush=True)
  keys = ("build_s", "first_8w_4a_s", "first_rss_mb", "weight_s", "arch_s", "peak_rss_mb")
  med = {name: {k: float(np.median([r[k] for r in rows])) for k in keys}
         for name, rows in results.items()}
  command = (f"python -m benchmarks.search_start {'--baseline=PATH ' if args.baseline else ''}"
             f"--space={args.space} "
             f"--input_size={args.input_size} --batch_size={args.batch_size} --warm={args.warm} "
             f"--rounds={args.rounds} --publish")
  lines = [f"## Search start-up: `{args.space}` at {args.input_size}, batch {args.batch_size}", "",
           f"`{command}` ({host_line()}; medians of {args.rounds} round(s), a fresh process "
           "per row).", "",
           "| code | build supernet | first 8 weight + 4 full_v2 steps (programs built) | RSS then "
           "| steady weight step | steady full_v2 arch step | peak RSS |",
           "|---|---:|---:|---:|---:|---:|---:|"]
  for name, m in med.items():
    lines.append(f"| {name} | {m['build_s']:.1f} s | {m['first_8w_4a_s']:.1f} s | "
                 f"{m['first_rss_mb'] / 1024:.2f} GB | {m['weight_s']:.3f} s | "
                 f"{m['arch_s']:.3f} s | {m['peak_rss_mb'] / 1024:.2f} GB |")
  if args.baseline:
    before, now = med["before (baseline)"], med["this checkout"]
    lines += ["", "Ratios (this / before): first steps "
              f"{now['first_8w_4a_s'] / before['first_8w_4a_s']:.2f}x, steady weight step "
              f"{now['weight_s'] / before['weight_s']:.2f}x, steady arch step "
              f"{now['arch_s'] / before['arch_s']:.2f}x, peak RSS "
              f"{now['peak_rss_mb'] / before['peak_rss_mb']:.2f}x."]
  if args.publish:
    publish(f"search_start_{args.space}_{args.input_size}", lines)
  else:
    print("\n".join(lines))


def train_rows(args) -> None:
  """The --published table: training a published net, both checkouts side by side."""
  from benchmarks.common import host_line, publish
  import numpy as np
  versions = {"before (baseline)": os.path.abspath(args.baseline), "this checkout": ROOT}
  results = {name: [] for name in versions}
  for r in range(args.rounds):
    for name in (list(versions) if r % 2 == 0 else list(versions)[::-1]):
      results[name].append(measure(versions[name], args.published, 0, args.batch_size, 0,
                                   child=TRAIN_CHILD))
      print(name, results[name][-1], flush=True)
  keys = ("build_s", "first_step_s", "first_8_s", "step_s", "peak_rss_mb")
  med = {name: {k: float(np.median([r[k] for r in rows])) for k in keys}
         for name, rows in results.items()}
  command = (f"python -m benchmarks.search_start --baseline=PATH --published={args.published} "
             f"--batch_size={args.batch_size} --rounds={args.rounds} --publish")
  lines = [f"## Training start-up: `{args.published}`, batch {args.batch_size}", "",
           f"`{command}` ({host_line()}; medians of {args.rounds} round(s), a fresh process "
           "per row; Keras `fit` as `python -m proxyless_tf.train` compiles the model).", "",
           "| code | build + compile | built model to first step | first 8 steps | steady step "
           "| peak RSS |", "|---|---:|---:|---:|---:|---:|"]
  for name, m in med.items():
    lines.append(f"| {name} | {m['build_s']:.1f} s | {m['first_step_s']:.1f} s | "
                 f"{m['first_8_s']:.1f} s | {m['step_s']:.2f} s | "
                 f"{m['peak_rss_mb'] / 1024:.2f} GB |")
  before, now = med["before (baseline)"], med["this checkout"]
  lines += ["", f"Ratios (this / before): first step {now['first_step_s'] / before['first_step_s']:.2f}x, "
            f"steady step {now['step_s'] / before['step_s']:.2f}x, peak RSS "
            f"{now['peak_rss_mb'] / before['peak_rss_mb']:.2f}x."]
  if args.publish:
    publish(f"training_start_{args.published}", lines)
  else:
    print("\n".join(lines))


if __name__ == "__main__":
  main()
