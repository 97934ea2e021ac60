"""Can the supernet tell apart networks of the SAME cost? Its ranking against long-training truths.

  python -m benchmarks.studies.matched_ranking [--truths=runs/matched_flops --archs=runs/proof/archs
      --variants=nested:uniform:500,nested:matched:500,nested:zero_half:500,nested:uniform:1500
      --finetune=150 --standalone_epochs=1]

`benchmarks.studies.matched_random` trained the FLOPs-searched net and 5 random nets of its cost
(9.2-9.9 MMACs) for 5 epochs of 24k images, 3 seeds each: those 6 mean accuracies are the truths
here (best minus worst, 0.9 points, is 3x the noise of a difference of two 3-seed means). A search can only pick the better
of such nets if its accuracy signal ranks them. For each variant (weight sharing : path sampling
: steps) a supernet is trained like the search's warm-up (one path per step, path-masked SGD,
batch 64, lr 0.05 cosine, 12k images) and the 6 nets are scored with its inherited weights on
4000 training images the supernet never saw (BN on batch statistics). Path sampling:
`uniform` (the search's warm-up), `matched` (uniform among architectures within 10% of the
searched net's MACs: the supernet trains only the population it is asked to rank), `zero_half`
(each skippable block skipped with probability 1/2, else a uniform candidate: stochastic depth,
so the rest of the network does not co-adapt to every block being there), `sandwich` (BigNAS's
rule without distillation: the largest path, the smallest, then a uniform one, in turn),
`sandwich_kd` (the same with BigNAS's in-place distillation: the smallest and the uniform path
learn the largest path's predictions on their batch instead of the labels).
`--finetune=K`: also score after K steps of training each net's own path from the first
variant's weights (lr 0.02 cosine). `--standalone_epochs=E`: also train each net from scratch
for E epochs (the truths' recipe, `--standalone_seeds`) as a short proxy, scored on 5000
training images outside the truths' 24k (not on the test set the truths come from).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time


import numpy as np

from benchmarks.common import kendall_tau, publish

MATCHED_BAND = 0.10


def main():
  p = argparse.ArgumentParser()
  p.add_argument("--truths", default="runs/matched_flops")
  p.add_argument("--archs", default="runs/proof/archs")
  p.add_argument("--variants", default="nested:uniform:500,nested:matched:500,"
                 "nested:zero_half:500,nested:uniform:1500")
  p.add_argument("--finetune", type=int, default=150)
  p.add_argument("--standalone_epochs", type=int, default=1)
  p.add_argument("--standalone_seeds", default="0", help="seeds of the standalone proxy (a row "
                 "each, and their mean when several)")
  p.add_argument("--section", default="matched_ranking",
                 help="BENCHMARKS.md section to write (another keeps earlier runs)")
  args = p.parse_args()

  from proxyless_tf.utils.determinism import enable_determinism
  enable_determinism()  # reruns reproduce the trainings (and reuse state.json honestly)
  import keras
  import tensorflow as tf
  from proxyless_tf.arch import load_arch
  from proxyless_tf.arch.stats import totals
  from proxyless_tf.data import held_out_split, load_dataset, normalize
  from proxyless_tf.data.pipeline import batch_stream
  from proxyless_tf.latency.cost_model import FlopsCostModel
  from proxyless_tf.search.runner import cosine
  from proxyless_tf.search.steps import SearchSteps
  from proxyless_tf.space.space import get_space
  from proxyless_tf.families.mbconv.supernet import Supernet
  from proxyless_tf.train import train

  state = json.load(open(os.path.join(args.truths, "state.json")))
  names = sorted({key.split("/")[0] for key in state})
  truth = {n: float(np.mean([v["accuracy"] for k, v in state.items() if k.split("/")[0] == n]))
           for n in names}
  archs = {n: load_arch(os.path.join(args.archs, f"{n}.json")) for n in names}
  space = get_space("small").with_task(32, 1, 10)
  specs = space.mixed_ops()

  def choices(arch):
    return [[c.name for c in s.candidates].index(
        "zero" if b.type == "zero" else f"k{b.kernel_size}_e{b.expand_ratio}")
        for s, b in zip(specs, arch.blocks[1:])]

  flops = FlopsCostModel()
  center = float(np.mean([flops.predict(a) for a in archs.values()]))
  data = load_dataset("fashion_mnist_local")
  # the search's own split: 50 per class held out, then 12k training images of the rest
  rest, _ = held_out_split(data.train, 50, seed=0)
  order = np.random.default_rng(0).permutation(len(rest))
  train_split, unseen = rest.take(order[:12000]), rest.take(order[12000:16000])
  x_eval, y_eval = normalize(unseen.images, 32, 1), tf.constant(unseen.labels)
  truths = [truth[n] for n in names]

  def score(net, steps):
    out = {}
    for n in names:
      net.set_active(choices(archs[n]))
      parts = [steps.evaluate_batch(x_eval[i:i + 250], y_eval[i:i + 250], training=True)
               for i in range(0, len(unseen), 250)]
      out[n] = (float(np.mean([float(q[0]) for q in parts])),
                float(np.mean([float(q[1]) for q in parts])))
    return out

  def force(net, chosen):
    """Makes the next sampled path `chosen` (softmax of one-hot logits)."""
    for op, j in zip(net.mixed_ops, chosen):
      logits = np.full(op.alpha.shape, -1e4, np.float32)
      logits[j] = 0.0
      op.alpha.assign(logits)

  def extreme(pick):
    """Per decision, the biggest (max) or smallest (min; zero where allowed) candidate."""
    return [pick(range(len(s.candidates)), key=lambda j, s=s: (
        not s.candidates[j].is_zero, s.candidates[j].expand_ratio, s.candidates[j].kernel_size))
        for s in specs]
  largest, smallest = extreme(max), extreme(min)

  rows = []
  first = None
  for variant in filter(None, args.variants.split(",")):
    sharing, rule, steps_n = variant.split(":")
    steps_n = int(steps_n)
    keras.utils.set_random_seed(0)
    net = Supernet(space, weight_sharing=sharing)
    steps = SearchSteps(net, tf.random.Generator.from_seed(0))
    rng = np.random.default_rng(0)

    def draw(step):
      if rule.startswith("sandwich") and step % 3 != 2:  # largest, smallest, then a uniform path
        return largest if step % 3 == 0 else smallest
      while True:
        chosen = []
        for s in specs:
          skippable = s.candidates[-1].is_zero
          if rule == "zero_half" and skippable and rng.random() < 0.5:
            chosen.append(len(s.candidates) - 1)
          else:
            chosen.append(int(rng.integers(len(s.candidates) - (rule == "zero_half" and skippable))))
        if rule != "matched" or abs(flops.predict(space.derive(chosen)) / center - 1) <= MATCHED_BAND:
          return chosen

    stream = batch_stream(train_split, 64, 32, 1, seed=0)
    start = time.monotonic()
    accs = []
    distill = _distillation_steps(net, steps) if rule == "sandwich_kd" else None
    for step in range(steps_n):
      chosen = draw(step)
      x, y = next(stream)
      lr = cosine(step, steps_n, 0.05)
      if distill and step % 3 != 0:
        # in-place distillation: the largest path's predictions on this batch are the target
        net.set_active(largest)
        soft = distill.teacher(x)
        net.set_active(chosen)
        distill.step(x, soft, tf.constant(lr, tf.float32))
        continue
      force(net, chosen)
      accs.append(float(steps.weight_step(x, y, lr)[1]))
    seconds = time.monotonic() - start
    scores = score(net, steps)
    rows.append((f"supernet, {sharing}, {rule}, {steps_n} steps", seconds,
                 float(np.mean(accs[-100:])), scores))
    print(rows[-1][0], f"tau {kendall_tau([-scores[n][0] for n in names], truths):+.2f}",
          flush=True)
    if first is None:
      kept = list(net.weights) + list(steps.weight_opt.variables)  # weights + momentum slots
      first = (net, steps, kept, [v.numpy().copy() for v in kept], rows[-1][0])
  if args.finetune and first:
    net, steps, kept, saved, label = first
    scores, start = {}, time.monotonic()
    for n in names:
      for v, value in zip(kept, saved):  # every net starts from the same supernet
        v.assign(value)
      force(net, choices(archs[n]))
      stream = batch_stream(train_split, 64, 32, 1, seed=1)
      for k in range(args.finetune):
        x, y = next(stream)
        steps.weight_step(x, y, cosine(k, args.finetune, 0.02))
      scores[n] = score(net, steps)[n]
    rows.append((f"{label} + {args.finetune} steps of each net's own path",
                 time.monotonic() - start, float("nan"), scores))
    print(rows[-1][0], flush=True)
  if args.standalone_epochs:
    full = load_dataset("fashion_mnist_local")
    order = np.random.default_rng(0).permutation(len(full.train))
    # the truths' 24k training images; scored on 5000 other training images, not on the test set
    # the truths were measured on (shared test-sample noise would flatter the proxy)
    short = dataclasses.replace(full, train=full.train.take(order[:24000]),
                                test=full.train.take(order[24000:29000]))
    seeds_run = [int(x) for x in args.standalone_seeds.split(",")]
    per_seed = []
    for seed in seeds_run:
      scores, start = {}, time.monotonic()
      for n in names:
        _, history = train(archs[n], short, f"/tmp/matched_ranking/{n}_s{seed}",
                           args.standalone_epochs, 128, 0.05, 0.9, 4e-5, 0.1, seed=seed, verbose=0)
        scores[n] = (float("nan"), float(history["val_accuracy"][-1]))
        keras.backend.clear_session()
      per_seed.append(scores)
      rows.append((f"standalone, {args.standalone_epochs} epoch(s) of the truths' recipe, seed "
                   f"{seed} (held-out accuracy)", time.monotonic() - start, float("nan"), scores))
    if len(per_seed) > 1:
      mean = {n: (float("nan"), float(np.mean([s[n][1] for s in per_seed]))) for n in names}
      rows.append((f"standalone, mean of seeds {args.standalone_seeds}", float("nan"),
                   float("nan"), mean))
  report(args, rows, names, truth, archs, totals)


def _distillation_steps(net, steps):
  """BigNAS's in-place distillation for the active path: cross-entropy to the largest path's
  softmax on the same batch, path-masked SGD as the search's weight step."""
  import types
  import tensorflow as tf

  @tf.function
  def teacher(x):
    return tf.stop_gradient(net(x, training=True, mode="single"))

  @tf.function
  def step(x, soft, lr):
    with tf.GradientTape() as tape:
      logits = net(x, training=True, mode="single")
      loss = tf.reduce_mean(-tf.reduce_sum(tf.nn.softmax(soft) * tf.nn.log_softmax(logits), -1))
    steps.weight_opt.apply(tape.gradient(loss, steps.weight_vars), steps.weight_vars, lr)
    return loss
  return types.SimpleNamespace(teacher=teacher, step=step)


def report(args, rows, names, truth, archs, totals):
  truths = [truth[n] for n in names]
  skips = {n: sum(b.type == "zero" for b in archs[n].blocks) for n in names}
  e6 = {n: sum(b.type != "zero" and b.expand_ratio == 6 for b in archs[n].blocks) for n in names}
  title = ("Can the supernet rank nets of the same cost?" if rows and "supernet" in rows[0][0]
           else "Can a short standalone training rank nets of the same cost?")
  lines = [f"## {title} (issue 9)", "",
           f"Command: `python -m benchmarks.studies.matched_ranking --truths={args.truths} "
           f"--archs={args.archs} --variants={args.variants} --finetune={args.finetune} "
           f"--standalone_epochs={args.standalone_epochs}"
           + (f" --standalone_seeds={args.standalone_seeds}" if args.standalone_seeds != "0" else "")
           + (f" --section={args.section}" if args.section != "matched_ranking" else "") + "`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores). Truths: the mean test accuracy of "
           f"`{args.truths}` (5 epochs of 24k Fashion-MNIST images, batch 128, 3 seeds; "
           "`benchmarks.studies.matched_random`). Scores: held-out cross-entropy with the supernet's "
           "weights on 4000 training images it never saw (BN on batch statistics); tau = Kendall "
           "tau between the score ranking and the truth ranking (+1: same order, -1: reversed).",
           "", "| net | MMACs | params | blocks skipped | e6 blocks | truth (test acc) | "
           + " | ".join(f"score {i + 1}" for i in range(len(rows))) + " |",
           "|---|---:|---:|---:|---:|---:|" + "---:|" * len(rows)]
  for n in sorted(names, key=lambda n: -truth[n]):
    t = totals(archs[n])
    cells = [f"{r[3][n][0]:.4f}" if np.isfinite(r[3][n][0]) else f"acc {r[3][n][1]:.4f}"
             for r in rows]
    lines.append(f"| {n} | {t['macs'] / 1e6:.2f} | {t['trainable_params']:,} | {skips[n]} | "
                 f"{e6[n]} | {truth[n]:.4f} | " + " | ".join(cells) + " |")
  lines += ["", "| score | what | s | train acc (last 100 steps) | Kendall tau with truth |",
            "|---|---|---:|---:|---:|"]
  for i, (label, seconds, train_acc, scores) in enumerate(rows):
    by_loss = all(np.isfinite(scores[n][0]) for n in names)
    ranking = [-scores[n][0] if by_loss else scores[n][1] for n in names]
    acc = f"{train_acc:.3f}" if np.isfinite(train_acc) else "-"
    secs = f"{seconds:.0f}" if np.isfinite(seconds) else "-"
    lines.append(f"| {i + 1} | {label} | {secs} | {acc} | "
                 f"{kendall_tau(ranking, truths):+.2f} |")
  lines.append("")
  lines.append("Skipped blocks vs truth: tau "
               f"{kendall_tau([skips[n] for n in names], truths):+.2f}; e6 blocks vs truth: tau "
               f"{kendall_tau([e6[n] for n in names], truths):+.2f}. With 6 nets, tau's standard "
               "error under no relation is about 0.33.")
  publish(args.section, lines)


if __name__ == "__main__":
  main()
