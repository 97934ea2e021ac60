"""The CIFAR-10 half on this CPU: the published Proxyless-G net's size, MACs and LiteRT latency; the
step time of the paper-sized tree-cell search and retraining (and what a full run would take
here); a small tree-cell search on Fashion-MNIST at 32x32 run to the end with the gradient and the
REINFORCE updates, its net trained and exported.

  python -m benchmarks.cifar_tree [--parts=net,steps,search --rounds=5 --runs=10]

Each part stores its results in benchmarks/cifar_tree.json, so one part can be rerun alone; the
BENCHMARKS.md section is written from all parts stored. Latency cells are measured round-robin in
one process (`rounds` times, median of per-round medians), so machine noise hits every cell alike.
Run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks.common import ROOT, emit_result, host_line, parse_result


RESULTS = os.path.join(ROOT, "benchmarks", "cifar_tree.json")
TRAIN_EXAMPLES, VALID_EXAMPLES = 50_000, 5_000  # CIFAR-10 train split; the search holds out 5,000


def _flag_values(path: str) -> dict:
  values = {}
  for line in open(path):
    line = line.strip()
    if line.startswith("--") and "=" in line:
      key, value = line[2:].split("=", 1)
      values[key] = value
  return values


def part_net(args) -> dict:
  """Params and MACs of proxyless_cifar; float / int8 LiteRT latency, whole and split, 1 thread;
  each export against Keras."""
  import numpy as np
  from proxyless_tf import litert
  from proxyless_tf.arch import get_preset
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.benchmark.host import time_interpreter
  from proxyless_tf.export.depthwise_split import split_large_depthwise
  from proxyless_tf.export.tflite import (convert_keras, representative_from_batch,
                                          set_bn_statistics)
  from proxyless_tf.model import build_model
  arch = get_preset("proxyless_cifar")
  model = build_model(arch)
  rng = np.random.default_rng(0)
  batch = rng.standard_normal((16, 32, 32, 3)).astype(np.float32)
  check = rng.standard_normal((32, 32, 32, 3)).astype(np.float32)
  set_bn_statistics(model, batch)
  keras_out = model.predict(check, verbose=0)
  forms = {"whole": model, "split": split_large_depthwise(model)}
  cells, checks = {}, {}
  for form, m in forms.items():
    for precision in ("float", "int8"):
      content = convert_keras(m, precision, representative_from_batch(batch))
      cells[(form, precision)] = litert.make_interpreter(model_content=content, num_threads=1)
      out = litert.run(litert.make_interpreter(model_content=content), check)
      checks[f"{form}/{precision}"] = {
          "max_abs_diff": float(np.abs(out - keras_out).max()),
          "logit_scale": float(np.abs(keras_out).max()),
          "top1_agreement": float(np.mean(out.argmax(-1) == keras_out.argmax(-1))),
          "size_mb": len(content) / 2**20}
      print(f"converted {form} {precision}: {checks[f'{form}/{precision}']}", flush=True)
  medians = {key: [] for key in cells}
  for r in range(args.rounds):
    for key, interp in cells.items():
      medians[key].append(float(np.median(time_interpreter(interp, warmup=2, runs=args.runs))))
    print(f"round {r + 1}/{args.rounds}: " + ", ".join(
        f"{k[0]}/{k[1]} {v[-1]:.1f} ms" for k, v in medians.items()), flush=True)
  return {"host": host_line(), "date": time.strftime("%Y-%m-%d"), "rounds": args.rounds,
          "runs": args.runs, **totals(arch),
          "latency_ms": {f"{f}/{p}": float(np.median(v)) for (f, p), v in medians.items()},
          "checks": checks}


def _step_child(which: str, batch_size: int, blocks_per_stage: int) -> dict:
  """Median seconds per step of one configuration, in this (fresh) process; the search's on
  `cifar_tree` cut to `blocks_per_stage` (same widths 16 -> 100, same cells)."""
  import dataclasses
  import resource
  import keras
  import numpy as np
  import tensorflow as tf
  keras.utils.set_random_seed(0)
  x = tf.constant(np.random.default_rng(0).standard_normal((batch_size, 32, 32, 3)), tf.float32)
  y = tf.constant(np.arange(batch_size) % 10, tf.int32)
  start = time.perf_counter()
  if which == "retrain":
    from proxyless_tf.arch import get_preset
    from proxyless_tf.model import build_model
    from benchmarks.search_cost import plain_train_step
    fns = {"weight": plain_train_step(build_model(get_preset("proxyless_cifar")), x, y, 0.1, 0.0)}
  else:
    from proxyless_tf.search.steps import SearchSteps
    from proxyless_tf.space.space import get_space
    from proxyless_tf.supernet.supernet import build_supernet
    net = build_supernet(dataclasses.replace(get_space("cifar_tree"),
                                             blocks_per_stage=blocks_per_stage))
    steps = SearchSteps(net, tf.random.Generator.from_seed(0), arch_mode="two")
    fns = {"weight": lambda: steps.weight_step(x, y, 0.025), "arch": lambda: steps.arch_step(x, y)}
  built = time.perf_counter() - start
  from benchmarks.search_cost import time_step
  measured = {name: time_step(fn, 0, 3) for name, fn in fns.items()}
  return {"build_s": built, "first_step_s": {k: v[0] for k, v in measured.items()},
          "step_s": {k: v[1] for k, v in measured.items()},
          "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def part_steps(args) -> dict:
  out = {}
  for which in ("search", "retrain"):
    cmd = [sys.executable, "-m", "benchmarks.cifar_tree", f"--child={which}", f"--batch_size={args.batch_size}",
           f"--blocks_per_stage={args.blocks_per_stage}"]
    try:
      done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                            timeout=args.step_timeout)
    except subprocess.TimeoutExpired:  # a result too: the graph did not trace in the time given
      out[which] = {"timed_out_s": args.step_timeout}
      print(which, out[which], flush=True)
      continue
    out[which] = parse_result(done.stdout)
    if out[which] is None:
      sys.exit(f"{which} failed:\n{done.stderr[-3000:]}")
    print(which, out[which], flush=True)
  search = _flag_values(os.path.join(ROOT, "proxyless_tf", "flags", "cifar10.flags"))
  train = _flag_values(os.path.join(ROOT, "proxyless_tf", "flags", "train", "cifar10.flags"))
  per_epoch = (TRAIN_EXAMPLES - VALID_EXAMPLES) // int(search["batch_size"])
  warmup, epochs = int(search["warmup_epochs"]), int(search["epochs"])
  import dataclasses
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.space.space import get_space
  full = get_space("cifar_tree")
  cut = dataclasses.replace(full, blocks_per_stage=args.blocks_per_stage)
  scale = totals(full.reference_arch())["macs"] / totals(cut.reference_arch())["macs"]
  nan = float("nan")
  s = {k: v * scale for k, v in out["search"].get("step_s", {"weight": nan, "arch": nan}).items()}
  search_s = (warmup + epochs) * per_epoch * s["weight"] + epochs * per_epoch * s["arch"]
  train_steps = int(train["epochs"]) * (TRAIN_EXAMPLES // int(train["batch_size"]))
  return {"host": host_line(), "date": time.strftime("%Y-%m-%d"), "batch_size": args.batch_size,
          "blocks_per_stage": args.blocks_per_stage, "mac_scale": scale,
          **out, "projection": {
              "weight_step_s": s["weight"], "arch_step_s": s["arch"],
              "search_weight_steps": (warmup + epochs) * per_epoch,
              "search_arch_steps": epochs * per_epoch, "search_days": search_s / 86400,
              "train_steps": train_steps,
              "train_days": train_steps * out["retrain"].get("step_s", {"weight": nan})["weight"]
              / 86400}}


SEARCH_FLAGS = ("--space=small_tree --dataset=fashion_mnist_local --input_size=32 --target=flops "
                "--target_latency=0.8x --batch_size=64 --max_train_examples=4000 "
                "--valid_per_class=50 --warmup_epochs=1 --epochs=3 --steps_per_epoch=20 "
                "--checkpoint_every=1000 --seed=0")
TRAIN_FLAGS = ("--epochs=3 --batch_size=64 --max_train_examples=12000 --export=float,dynamic,int8 "
               "--seed=0")


def _run(cmd: str) -> tuple[float, str]:
  start = time.perf_counter()
  done = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT)
  if done.returncode:
    sys.exit(f"failed ({done.returncode}): {cmd}\n{done.stderr[-3000:]}")
  return time.perf_counter() - start, done.stdout + done.stderr


def part_search(args) -> dict:
  """The small search to the end with each update rule, then its net trained and exported."""
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.families.pyramid_tree.original import from_original
  from proxyless_tf.space.space import get_space
  reference = get_space("small_tree").with_task(32, 1, 10).reference_arch()
  requested = 0.8 * totals(reference)["macs"]
  rows = {}
  for algo, extra in (("gradient (full_v2)", "--arch_algo=grad --arch_mode=full_v2"),
                      ("REINFORCE", "--arch_algo=rl")):
    out = os.path.join(args.work, algo.split()[0].lower())
    flags = (SEARCH_FLAGS if "rl" not in extra  # REINFORCE's reward has no latency multiplier
             else SEARCH_FLAGS.replace("--target_latency=0.8x ", ""))
    cmd = f"{sys.executable} -m proxyless_tf.search {flags} {extra} --out={out}"
    search_s, _ = _run(cmd)
    arch = load_arch(os.path.join(out, "arch.json"))
    with open(os.path.join(out, "net_original.config")) as f:
      same = from_original(json.load(f), name=arch.name) == arch
    history = json.load(open(os.path.join(out, "history.json")))
    train_cmd = (f"{sys.executable} -m proxyless_tf.train --arch={out}/arch.json "
                 f"--dataset=fashion_mnist_local {TRAIN_FLAGS} --out={out}/train")
    train_s, _ = _run(train_cmd)  # exits non-zero when an export disagrees with Keras
    trained = json.load(open(os.path.join(out, "train", "history.json")))
    counts = totals(arch)
    rows[algo] = {"command": cmd.replace(sys.executable, "python"),
                  "train_command": train_cmd.replace(sys.executable, "python"),
                  "search_s": search_s, "train_s": train_s, "formats_agree": same,
                  "ops": sorted({e.op for b in arch.blocks for _, e in b.cell.edge_list()}),
                  "macs": counts["macs"], "params": counts["trainable_params"],
                  "requested_macs": requested, "reference_macs": totals(reference)["macs"],
                  "search_last_epoch": history[-1], "test_accuracy": trained[-1]["val_accuracy"],
                  "exports": sorted(f for f in os.listdir(os.path.join(out, "train", "export"))
                                    if f.endswith(".tflite"))}
    print(algo, json.dumps(rows[algo], default=str)[:2000], flush=True)
  return {"host": host_line(), "date": time.strftime("%Y-%m-%d"), "runs": rows}


def write_section(results: dict, args) -> None:
  from benchmarks.common import publish
  lines = ["## CIFAR-10 tree cells (issue 23): Proxyless-G's net, its search, on this CPU", ""]
  net = results.get("net")
  if net:
    lat = net["latency_ms"]
    lines += [
        "Command: `python -m benchmarks.cifar_tree --parts=net "
        f"--rounds={net['rounds']} --runs={net['runs']}`  ",
        f"Host: {net['host']}, {net['date']}. proxyless_cifar (the published Proxyless-G config, "
        "`../shared/data/proxyless_cifar.config`), 32x32x3, batch 1, 1 thread; median over "
        f"{net['rounds']} interleaved rounds of the per-round median of {net['runs']} runs. "
        "whole = 7x7 depthwise kernels as one op; split = over-25-tap kernels as 3+3+1-row pieces "
        "(the default export).", "",
        f"Parameters: {net['trainable_params']:,} trainable ({net['total_params']:,} with BN "
        "statistics), equal to the original PyTorch code's `sum(p.numel() for p in "
        f"net.parameters())` (5,731,530, CPU torch wheel). MACs: {net['macs'] / 1e6:.1f}M.", "",
        "| export | latency ms | vs float whole | file MB | max abs diff vs Keras (logit scale) | "
        "top-1 agreement with Keras (32 random inputs) |", "|---|---:|---:|---:|---:|---:|"]
    for key in ("whole/float", "split/float", "whole/int8", "split/int8"):
      c = net["checks"][key]
      lines.append(f"| {key} | {lat[key]:.1f} | {lat[key] / lat['whole/float']:.2f}x | "
                   f"{c['size_mb']:.1f} | {c['max_abs_diff']:.2g} ({c['logit_scale']:.2g}) | "
                   f"{c['top1_agreement']:.0%} |")
    lines += ["", "Random weights, BN statistics from a random batch: int8 agreement on an "
              "untrained net says the export runs, not how a trained net quantizes."]
  steps = results.get("steps")
  if steps:
    p, s, t = steps["projection"], steps["search"], steps["retrain"]
    lines += [
        "", "Step times (`--parts=steps`), batch "
        f"{steps['batch_size']}, 2 cores, {steps['host']}, {steps['date']}: medians of 3 steps "
        "after the first (tracing) one, one fresh process each.", "",
        "| job | build s | first (tracing) step s | weight step s | arch step s | peak RSS GB |",
        "|---|---:|---:|---:|---:|---:|"]
    cut = (f"cifar_tree supernet cut to {steps['blocks_per_stage']} blocks per stage "
           f"({3 * steps['blocks_per_stage']} blocks, {42 * steps['blocks_per_stage']} mixed ops "
           "x 8), `two`")
    for name, r in ((cut, s), ("proxyless_cifar retraining (SGD, Nesterov)", t)):
      if "timed_out_s" in r:
        lines.append(f"| {name} | did not finish building, tracing and 3 steps in "
                     f"{r['timed_out_s']} s | | | | |")
        continue
      first, step = r["first_step_s"], r["step_s"]
      lines.append(f"| {name} | {r['build_s']:.0f} | "
                   + " / ".join(f"{v:.0f}" for v in first.values())
                   + f" | {step['weight']:.2f} | "
                   + (f"{step['arch']:.2f}" if "arch" in step else "-")
                   + f" | {r['peak_rss_gb']:.1f} |")
      if r is s:
        lines.append(f"| the same scaled to 18 per stage (x{steps['mac_scale']:.2f}, the "
                     f"reference nets' MACs) | | | {p['weight_step_s']:.2f} | "
                     f"{p['arch_step_s']:.2f} | |")
    lines += [
        "", f"So on this CPU the paper-sized search (`flags/cifar10.flags`: "
        f"{p['search_weight_steps']:,} weight and {p['search_arch_steps']:,} arch steps) would "
        f"take {p['search_days']:.0f} days (nan: not measured), and the retraining "
        f"(`flags/train/cifar10.flags`: {p['train_steps']:,} steps) {p['train_days']:.0f} days: "
        "both are GPU jobs; the small space below is what runs here."]
  if not steps:
    lines += [
        "", "Step times of the paper-sized jobs: not measured to the end. Tried on this host, "
        "2026-12-02 (the `--parts=steps` child, by hand): the `cifar_tree` supernet (54 blocks, "
        "756 mixed ops x 8 candidates) built in 53 s, then had not finished tracing its first "
        "weight step after 14 minutes at 16.6 GB resident (stopped before the 24 GB machine ran "
        "out); cut to 3 blocks per stage (126 mixed ops) it had not after 7 minutes at 9.1 GB. "
        "The one-path `tf.switch_case` graph holds every candidate's forward and backward, and "
        "its tracing grows faster than the candidate count: the paper's search needs a machine "
        "with more memory and time to trace (or a per-block trace), not only a GPU. The small "
        "space below runs to the end (times below)."]
  search = results.get("search")
  if search:
    lines += [
        "", f"Small tree-cell search to the end (`--parts=search`), {search['host']}, "
        f"{search['date']}: `small_tree` (6 blocks, depth-2 cells, 36 mixed ops x 8 edge ops), "
        "Fashion-MNIST padded to 32x32, FLOPs target 0.8x the reference net, then the derived "
        "net trained 3 epochs on 12,000 images and exported (float, dynamic, int8, each checked "
        "against Keras).", "",
        "| update | search min | derived MACs (target) | params | edge ops used | both formats "
        "agree | train min | test top-1 | exports (each within its bound of Keras) |",
        "|---|---:|---:|---:|---|---|---:|---:|---|"]
    for algo, r in search["runs"].items():
      lines.append(
          f"| {algo} | {r['search_s'] / 60:.1f} | {r['macs'] / 1e6:.2f}M "
          f"({r['requested_macs'] / 1e6:.2f}M) | {r['params']:,} | "
          f"{', '.join(r['ops'])} | {'yes' if r['formats_agree'] else 'NO'} | "
          f"{r['train_s'] / 60:.1f} | {r['test_accuracy']:.3f} | {', '.join(r['exports'])} |")
    first = next(iter(search["runs"].values()))
    lines += ["", f"Commands: `{first['command']}` (REINFORCE: `--arch_algo=rl`), then "
              f"`{first['train_command']}`."]
  publish("cifar_tree", lines)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--parts", default="net,steps,search")
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--runs", type=int, default=10)
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument("--step_timeout", type=int, default=600,
                      help="steps: seconds a child may take (building, tracing, 3 steps)")
  parser.add_argument("--blocks_per_stage", type=int, default=3,
                      help="steps: the search's supernet is cifar_tree cut to this many blocks "
                      "per stage (18, the paper's, traces for over 10 minutes and 12 GB here); "
                      "its step time is scaled to 18 by the reference nets' MACs")
  parser.add_argument("--work", default="/tmp/cifar_tree_bench")
  parser.add_argument("--child", choices=("search", "retrain"))
  args = parser.parse_args()
  if args.child:
    emit_result(_step_child(args.child, args.batch_size, args.blocks_per_stage))
    return
  results = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
  for part in args.parts.split(","):
    results[part] = {"net": part_net, "steps": part_steps, "search": part_search}[part](args)
    with open(RESULTS, "w") as f:
      json.dump(results, f, indent=1)
  write_section(results, args)


if __name__ == "__main__":
  main()
