"""Memory and time of the search's steps vs training one plain network, side by side.

  python -m benchmarks.search_cost [--space=small --input_size=64 --batch_size=64 --repeats=3]
  python -m benchmarks.search_cost --space=cifar_tree --input_size=32 --batch_size=8 \
      --published=proxyless_cifar --configs=standalone,weight,full_v2 --sweep= --batch_sweep=

Configurations, each measured in a fresh subprocess (peak RSS is per process), on the same batch:
  weight     (a) supernet weight step (one sampled path)
  full_v2    (b) weight step + arch step in full_v2 mode
  two        (b) weight step + arch step in two mode
  full       (c) weight step + arch step in full mode (all paths in memory, DARTS-like)
  standalone (d) a plain network of the same depth with the largest candidate (k7 e6) everywhere,
             or with --published=NAME that published net (`proxyless_mobile`, `proxyless_cifar`)
             trained by the project's own recipe (`train._compiled_model`: what the CLI runs)
Times are the median step time after warm-up; (a+b amortized) = weight + arch / arch_update_every.
Beside them, the first call of each step (it builds the step's programs: what a user waits for).
Subprocess runs are interleaved over `repeats` rounds and the medians reported.

Two memory numbers per process: the peak of TF's CPU allocator (every tensor: activations, gradients,
weights, optimizer slots; what the paper's "memory of one network" is about, and what limits batch
size on an accelerator) and peak RSS (adds the TF runtime and the traced program, which for a
supernet holds every candidate of every mixed op and does not grow with batch size; the batch sweep
shows that). Where TensorFlow keeps no allocator statistics for the CPU (TF 2.21 raises "Allocator
stats not available"), the tensor column says n/a and peak RSS is the measure.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from benchmarks.common import emit_result, parse_result, run_child

CONFIGS = ("standalone", "weight", "full_v2", "two", "full")

# The original code's steps (mit-han-lab/proxylessnas `search/`, read and run from the user's
# checkout under its own interpreter with CPU torch; nothing of it is copied here): the paper's
# ImageNet space as `imagenet_arch_search.py` builds it, the weight update of
# `nas_manager.train` and the `full_v2` arch update of `nas_manager.gradient_step`. (Under torch
# 2.x its `set_arch_param_grad` prints a line for each edge whose sampled op is Zero: that edge's
# gate has no gradient, which the original code skips anyway.)
ORIGINAL_CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
import torch.nn as nn
from models.super_nets.super_proxyless import SuperProxylessNASNets
from modules.mix_op import MixedEdge
from utils import cross_entropy_with_label_smoothing

size, batch, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else torch.get_num_threads())
t0 = time.monotonic()
net = SuperProxylessNASNets(
    width_stages=[24, 40, 80, 96, 192, 320], n_cell_stages=[4, 4, 4, 4, 4, 1],
    conv_candidates=["3x3_MBConv3", "3x3_MBConv6", "5x5_MBConv3", "5x5_MBConv6", "7x7_MBConv3",
                     "7x7_MBConv6"], stride_stages=[2, 2, 2, 1, 2, 1], n_classes=1000,
    bn_param=(0.1, 1e-3), dropout_rate=0)
net.init_arch_params("normal", 1e-3)
optimizer = torch.optim.SGD(net.weight_parameters(), 0.01, momentum=0.9, nesterov=True,
                            weight_decay=4e-5)
arch_optimizer = torch.optim.Adam(net.architecture_parameters(), 1e-3, betas=(0.0, 0.999), eps=1e-8)
criterion = nn.CrossEntropyLoss()
net.train()
built = time.monotonic() - t0
rng = np.random.default_rng(0)
images = torch.tensor(rng.normal(size=(batch, 3, size, size)).astype("float32"))
labels = torch.tensor(np.arange(batch) % 1000)


def weight_step():  # nas_manager.train's weight update
  net.reset_binary_gates()
  net.unused_modules_off()
  loss = cross_entropy_with_label_smoothing(net(images), labels, 0.1)
  net.zero_grad()
  loss.backward()
  optimizer.step()
  net.unused_modules_back()
  return float(loss)


def arch_step():  # nas_manager.gradient_step, full_v2, no latency term
  MixedEdge.MODE = "full_v2"
  net.reset_binary_gates()
  net.unused_modules_off()
  loss = criterion(net(images), labels)
  net.zero_grad()
  loss.backward()
  net.set_arch_param_grad()
  arch_optimizer.step()
  net.unused_modules_back()
  MixedEdge.MODE = None
  return float(loss)


def timed(fn):
  s = time.monotonic(); fn(); return time.monotonic() - s

first_weight, first_arch = timed(weight_step), timed(arch_step)
t = time.monotonic()
for _ in range(7):
  weight_step()
for _ in range(3):
  arch_step()
first_8w_4a = first_weight + first_arch + time.monotonic() - t
for _ in range(2):
  weight_step(); arch_step()
weight = float(np.median([timed(weight_step) for _ in range(steps)]))
arch = float(np.median([timed(arch_step) for _ in range(max(3, steps // 2))]))
print("RESULT " + json.dumps({"build_s": built, "first_weight_s": first_weight,
                              "first_arch_s": first_arch, "first_8w_4a_s": first_8w_4a,
                              "weight_s": weight, "arch_s": arch, "threads": torch.get_num_threads(),
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_tensor_mb():
  """Peak of TF's CPU allocator in MB, or None where TensorFlow keeps no statistics for it."""
  import tensorflow as tf
  try:
    return tf.config.experimental.get_memory_info("CPU:0")["peak"] / 2**20
  except (ValueError, RuntimeError):
    return None


def _mb(values) -> str:
  """The median of a memory column, or n/a where the allocator kept no statistics."""
  import numpy as np
  return "n/a" if None in values else f"{np.median(values):.0f}"


def published_train_step(name: str, x, y):
  """One training step of a published net as `python -m proxyless_tf.train` compiles it."""
  import tensorflow as tf
  from proxyless_tf.arch.io import load_arch
  from proxyless_tf.train import _compiled_model
  config = load_arch(name)
  model = _compiled_model(config, 1000, 0.05, 0.9, 4e-5, 0.1)
  data = (x, tf.one_hot(y, config.num_classes))
  step = tf.function(model.train_step)
  return lambda: step(data)["loss"]


def plain_train_step(model, x, y, lr: float, label_smoothing: float):
  """One SGD + Nesterov step of a plain network on a fixed batch, as a `tf.function`."""
  import keras
  import tensorflow as tf
  from proxyless_tf.search.steps import cross_entropy
  opt = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
  opt.build(model.trainable_variables)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = cross_entropy(y, model(x, training=True), label_smoothing)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables))
    return loss
  return step


def time_step(fn, warmup: int, steps: int) -> tuple[float, float]:
  """(seconds of the first call: tracing, median seconds of `steps` calls after `warmup` more);
  each call's result is read back so the clock waits for the work."""
  import numpy as np

  def timed():
    start = time.perf_counter()
    out = fn()
    float(out[0] if isinstance(out, tuple) else out)
    return time.perf_counter() - start
  first = timed()
  for _ in range(warmup):
    timed()
  return first, float(np.median([timed() for _ in range(steps)]))


def child(args) -> dict:
  import keras
  import numpy as np
  import tensorflow as tf
  from proxyless_tf.space.space import get_space
  keras.utils.set_random_seed(0)
  space = get_space(args.space).with_task(input_size=args.input_size)
  if args.num_candidates:
    import dataclasses
    space = dataclasses.replace(space, candidates=space.candidates[:args.num_candidates])
  x = tf.constant(np.random.default_rng(0).standard_normal(
      (args.batch_size, space.input_size, space.input_size, space.input_channels)), tf.float32)
  y = tf.constant(np.arange(args.batch_size) % space.num_classes, tf.int32)
  if args.child == "standalone" and args.published:
    fns = {"weight": published_train_step(args.published, x, y)}
  elif args.child == "standalone":
    from proxyless_tf.model import build_model
    fns = {"weight": plain_train_step(build_model(space.largest_arch()), x, y, 0.01, 0.1)}
  else:
    from proxyless_tf.search.steps import SearchSteps
    from proxyless_tf.supernet.supernet import build_supernet
    net = build_supernet(space)
    mode = "full_v2" if args.child == "weight" else args.child
    steps = SearchSteps(net, tf.random.Generator.from_seed(0), arch_mode=mode)
    fns = {"weight": lambda: steps.weight_step(x, y, 0.01)}
    if args.child != "weight":
      fns["arch"] = lambda: steps.arch_step(x, y)
  times = {}
  for name, fn in fns.items():
    # a supernet's steps build a compiled piece the first time a candidate kind is sampled: the
    # warm-up samples them all before the steady steps are timed
    first, steady = time_step(fn, 2 if args.child == "standalone" else args.warmup, args.steps)
    times[name], times[f"{name}_first"] = steady * 1e3, first * 1e3
  return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
          "peak_tensor_mb": peak_tensor_mb(), **times}


def run_original(args) -> dict:
  """The original PyTorch code's steps on the same CPU, batch and input size."""
  if args.space != "proxyless":
    sys.exit("--original runs the original code's ImageNet space: use --space=proxyless")
  search = os.path.join(os.path.abspath(args.original), "search")
  if not os.path.isfile(os.path.join(search, "nas_manager.py")):
    sys.exit(f"--original={args.original}: no search/nas_manager.py there; pass a checkout of "
             "mit-han-lab/proxylessnas")
  out = subprocess.run([args.original_python, "-c", ORIGINAL_CHILD, str(args.input_size),
                        str(args.batch_size), str(args.steps)], capture_output=True, text=True,
                       cwd=search, env={**os.environ, "PYTHONPATH": search})
  result = parse_result(out.stdout)
  if result is None:
    sys.exit(f"the original code failed (needs torch, numpy and pyyaml under "
             f"--original_python={args.original_python}):\n{out.stderr[-3000:]}")
  return result


def step_child(args, config: str, num_candidates: int = 0, batch_size: int = 0) -> dict:
  cmd = ["-m", "benchmarks.search_cost", f"--child={config}", f"--space={args.space}",
         f"--input_size={args.input_size}", f"--batch_size={batch_size or args.batch_size}",
         f"--steps={args.steps}", f"--num_candidates={num_candidates}",
         f"--published={args.published}", f"--warmup={args.warmup}"]
  return run_child(cmd, config)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--space", default="small")
  parser.add_argument("--input_size", type=int, default=64)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--warmup", type=int, default=30,
                      help="supernet steps before the steady ones are timed")
  parser.add_argument("--arch_update_every", type=int, default=5)
  parser.add_argument("--child", choices=CONFIGS)
  parser.add_argument("--configs", default=",".join(CONFIGS),
                      help="which configurations to run (comma-separated)")
  parser.add_argument("--original", default="",
                      help="a checkout of mit-han-lab/proxylessnas: its steps beside ours")
  parser.add_argument("--original_python", default=sys.executable,
                      help="the interpreter (with CPU torch) that runs --original")
  parser.add_argument("--published", default="",
                      help="(d) = this published net trained as the CLI does, e.g. "
                           "proxyless_cifar for --space=cifar_tree")
  parser.add_argument("--num_candidates", type=int, default=0,
                      help="child: keep only the first N MBConv candidates (0: all)")
  parser.add_argument("--sweep", default="2,4,6",
                      help="candidate counts for the growth table of full vs full_v2")
  parser.add_argument("--batch_sweep", default="32,128",
                      help="batch sizes for the (a) vs (d) memory table")
  args = parser.parse_args()
  if args.child:
    emit_result(child(args))
    return
  import numpy as np
  from benchmarks.common import host_line, publish
  configs = [c for c in CONFIGS if c in args.configs.split(",")]
  if "standalone" not in configs:
    sys.exit("--configs needs standalone: every row is compared with it")
  results = {c: [] for c in configs}
  original = []
  for r in range(args.repeats):
    for config in configs:
      results[config].append(step_child(args, config))
      print(f"round {r + 1} {config}: {results[config][-1]}", flush=True)
    if args.original:
      original.append(run_original(args))
      print(f"round {r + 1} original: {original[-1]}", flush=True)
  med = {c: {k: (None if rows[0][k] is None else float(np.median([row[k] for row in rows])))
             for k in rows[0]} for c, rows in results.items()}
  d = med["standalone"]
  k = args.arch_update_every
  lines = [
      "## Search cost: supernet steps vs one plain network"
      + ("" if args.space == "small" else f" (`{args.space}` at {args.input_size})"),
      "",
      f"Command: `python -m benchmarks.search_cost --space={args.space} --input_size={args.input_size} "
      f"--batch_size={args.batch_size} --steps={args.steps} --repeats={args.repeats} "
      f"--warmup={args.warmup} --sweep={args.sweep} --batch_sweep={args.batch_sweep} --configs={','.join(configs)}"
      + (f" --published={args.published}" if args.published else "")
      + (" --original=PATH --original_python=PY" if args.original else "") + "`  ",
      f"{time.strftime('%Y-%m-%d')}, {host_line()}, one fresh process per configuration. Tensor MB = "
      "peak of TF's CPU allocator (all tensors); RSS MB = peak resident set (adds the TF runtime and "
      "the traced program); step times are medians; each cell is the median of "
      f"{args.repeats} interleaved runs. (d) = "
      + (f"`{args.published}` trained as the CLI does." if args.published
         else "the space's depth with k7 e6 everywhere."),
      "",
      "| configuration | tensor MB | vs (d) | RSS MB | vs (d) | first weight step s | "
      "first arch step s | weight step ms | arch step ms | (a+b/k) / (d) time |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
  names = {"standalone": f"(d) {args.published or 'standalone k7e6'}", "weight": "(a) supernet weight step",
           "full_v2": "(a)+(b) arch full_v2", "two": "(a)+(b) arch two",
           "full": "(c) arch full (all paths)"}
  def tensor_cells(m):
    if m["peak_tensor_mb"] is None or d["peak_tensor_mb"] is None:
      return "n/a | n/a"
    return f"{m['peak_tensor_mb']:.0f} | {m['peak_tensor_mb'] / d['peak_tensor_mb']:.2f}"

  for c in configs:
    m = med[c]
    arch, arch_first = m.get("arch"), m.get("arch_first")
    amortized = (m["weight"] + (arch or 0) / k) / d["weight"]
    lines.append(f"| {names[c]} | {tensor_cells(m)} | "
                 f"{m['peak_rss_mb']:.0f} | {m['peak_rss_mb'] / d['peak_rss_mb']:.2f} | "
                 f"{m['weight_first'] / 1e3:.1f} | "
                 f"{'-' if arch_first is None else f'{arch_first / 1e3:.1f}'} | "
                 f"{m['weight']:.1f} | {'-' if arch is None else f'{arch:.1f}'} | "
                 f"{amortized:.2f} |")
  if original:
    o = {key: float(np.median([row[key] for row in original])) for key in original[0]}
    lines.append(f"| original PyTorch supernet, weight + full_v2 | n/a | n/a | "
                 f"{o['peak_rss_mb']:.0f} | {o['peak_rss_mb'] / d['peak_rss_mb']:.2f} | "
                 f"{o['first_weight_s']:.1f} | {o['first_arch_s']:.1f} | "
                 f"{o['weight_s'] * 1e3:.1f} | {o['arch_s'] * 1e3:.1f} | "
                 f"{(o['weight_s'] * 1e3 + o['arch_s'] * 1e3 / k) / d['weight']:.2f} |")
    for c in ("weight", "full_v2"):
      if c in med:
        lines.append(f"\nproxyless_tf / original, {names[c]}: weight step "
                     f"{med[c]['weight'] / (o['weight_s'] * 1e3):.2f}x"
                     + (f", arch step {med[c]['arch'] / (o['arch_s'] * 1e3):.2f}x"
                        if med[c].get("arch") else "") + ".")
  lines.append("")
  lines.append(f"k = arch_update_every = {k}. Targets: (a)/(d) memory <= 1.15, (a+b/k)/(d) time <= 1.3.")
  if args.sweep:
    counts = [int(n) for n in args.sweep.split(",")]
    growth = {(mode, n): [] for mode in ("full_v2", "full") for n in counts}
    for _ in range(args.repeats):
      for (mode, n) in growth:
        growth[(mode, n)].append(step_child(args, mode, n))
    lines += ["", "Growth with the number of MBConv candidates per mixed op (plus `zero` where "
              "legal): tensor MB / RSS MB / arch step ms.", "",
              "| candidates | " + " | ".join(str(n) for n in counts) + " |",
              "|---|" + "---:|" * len(counts)]
    for mode in ("full_v2", "full"):
      cells = [f"{_mb([r['peak_tensor_mb'] for r in growth[(mode, n)]])} / "
               f"{np.median([r['peak_rss_mb'] for r in growth[(mode, n)]]):.0f} / "
               f"{np.median([r['arch'] for r in growth[(mode, n)]]):.0f}" for n in counts]
      lines.append(f"| {mode} | " + " | ".join(cells) + " |")
  if args.batch_sweep:
    sizes = sorted({int(b) for b in args.batch_sweep.split(",")} | {args.batch_size})
    runs = {(c, b): [] for b in sizes for c in ("standalone", "weight")}
    for c in ("standalone", "weight"):
      runs[(c, args.batch_size)] = results[c]
    for _ in range(args.repeats):
      for (c, b) in runs:
        if b != args.batch_size:
          runs[(c, b)].append(step_child(args, c, batch_size=b))
    def cell(c, b, key):
      values = [r[key] for r in runs[(c, b)]]
      return float("nan") if None in values else float(np.median(values))
    lines += ["", "(a) weight step vs (d) standalone by batch size: the RSS difference is the "
              "traced program (constant), the tensor memory is the training memory.", "",
              "| batch | (d) tensor MB | (a) tensor MB | (a)/(d) tensors | (d) RSS MB | (a) RSS MB | "
              "(a)-(d) RSS MB | (a)/(d) RSS |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in sizes:
      dt, at = cell("standalone", b, "peak_tensor_mb"), cell("weight", b, "peak_tensor_mb")
      dr, ar = cell("standalone", b, "peak_rss_mb"), cell("weight", b, "peak_rss_mb")
      lines.append(f"| {b} | {dt:.0f} | {at:.0f} | {at / dt:.2f} | {dr:.0f} | {ar:.0f} | "
                   f"{ar - dr:.0f} | {ar / dr:.2f} |")
  publish("search_cost" if args.space == "small" else f"search_cost_{args.space}_{args.input_size}",
          lines)


if __name__ == "__main__":
  main()
