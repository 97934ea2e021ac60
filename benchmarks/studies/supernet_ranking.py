"""Does the warmed-up supernet rank sub-networks like training them would? (Kendall tau)

  python -m benchmarks.studies.supernet_ranking [--warmups=300,900 --subnets=10 --standalone_steps=450
                                        --sharing=independent,nested]

Fashion-MNIST (Debian's files), `small` space at 32x32, 12k training images, 1000 held out
(100 per class), batch 64. For each warm-up length: the supernet is trained with uniform path
sampling (the search's warm-up: one sampled path per step, path-masked SGD, cosine lr), then
`--subnets` random sub-networks are scored on the held-out images with their inherited weights
(BN on batch statistics, as the search's own evaluation). The same sub-networks are trained
standalone from scratch (same data, batch, lr schedule and augmentation, `--standalone_steps`
steps each) and scored on the same images. Reported: the supernet's train accuracy at the end
of warm-up on the k3 e6 path, the accuracies, and Kendall's tau between the two rankings, for
each supernet weight sharing (`--sharing`: independent candidates as the paper, or nested).
"""

from __future__ import annotations

import argparse
import time


import numpy as np

from benchmarks.common import kendall_tau, publish


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--warmups", default="300,900")
  parser.add_argument("--subnets", type=int, default=10)
  parser.add_argument("--standalone_steps", type=int, default=450)
  parser.add_argument("--lr", type=float, default=0.05)
  parser.add_argument("--sharing", default="independent,nested")
  parser.add_argument("--section", default="supernet_ranking",
                      help="BENCHMARKS.md section to write (another keeps earlier runs)")
  args = parser.parse_args()
  import keras
  import tensorflow as tf
  from proxyless_tf.data import held_out_split, load_dataset, normalize
  from proxyless_tf.data.pipeline import batch_stream
  from proxyless_tf.model import build_model
  from proxyless_tf.search.runner import cosine
  from proxyless_tf.search.steps import SearchSteps
  from proxyless_tf.space.space import get_space
  from proxyless_tf.families.mbconv.supernet import Supernet

  data = load_dataset("fashion_mnist_local")
  train = data.train.take(np.random.default_rng(0).permutation(len(data.train))[:13000])
  train, valid = held_out_split(train, 100, seed=0)
  space = get_space("small").with_task(32, 1, 10)
  rng = np.random.default_rng(7)
  subnets = [[int(rng.integers(len(s.candidates))) for s in space.mixed_ops()]
             for _ in range(args.subnets)]
  x_valid = normalize(valid.images, 32, 1)
  y_valid = tf.constant(valid.labels)
  batch = 64

  def standalone(choices, seed):
    keras.utils.set_random_seed(seed)
    model = build_model(space.derive(choices))
    steps = args.standalone_steps
    model.compile(optimizer=keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay(
        args.lr, steps), momentum=0.9, nesterov=True, weight_decay=4e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    stream = batch_stream(train, batch, 32, 1, seed=seed)
    for _ in range(steps):
      x, y = next(stream)
      model.train_on_batch(x, y)
    return float(model.evaluate(x_valid, y_valid, batch_size=250, verbose=0)[1])

  start = time.monotonic()
  truth = [standalone(c, 100 + i) for i, c in enumerate(subnets)]
  standalone_s = time.monotonic() - start
  print("standalone:", [f"{a:.3f}" for a in truth], flush=True)
  results = []
  runs = [(sharing, int(w)) for sharing in args.sharing.split(",") for w in args.warmups.split(",")]
  for sharing, warmup in runs:
    keras.utils.set_random_seed(0)
    net = Supernet(space, weight_sharing=sharing)
    steps = SearchSteps(net, tf.random.Generator.from_seed(0))
    stream = batch_stream(train, batch, 32, 1, seed=0)
    accs = []
    start = time.monotonic()
    for step in range(warmup):
      x, y = next(stream)
      _, acc = steps.weight_step(x, y, cosine(step, warmup, args.lr), uniform=True)
      accs.append(float(acc))
    seconds = time.monotonic() - start
    k3e6 = [[c.name for c in s.candidates].index("k3_e6") for s in space.mixed_ops()]

    def inherited(choices):
      net.set_active(choices)
      return float(np.mean([steps.evaluate_batch(x_valid[i:i + 250], y_valid[i:i + 250],
                                                 training=True)[1] for i in range(0, 1000, 250)]))

    scores = [inherited(c) for c in subnets]
    tau = kendall_tau(scores, truth)
    results.append((sharing, warmup, float(np.mean(accs[-50:])), inherited(k3e6), scores, tau,
                    seconds))
    print(f"{sharing} warm-up {warmup}: tau {tau:.3f}, inherited {[f'{a:.3f}' for a in scores]}", flush=True)
  lines = ["## Supernet ranking after warm-up (Kendall tau)", "",
           f"Command: `python -m benchmarks.studies.supernet_ranking --warmups={args.warmups} "
           f"--subnets={args.subnets} --standalone_steps={args.standalone_steps} "
           f"--sharing={args.sharing}"
           + (f" --section={args.section}" if args.section != "supernet_ranking" else "") + "`  ",
           f"{time.strftime('%Y-%m-%d')}, CPU (2 cores). Fashion-MNIST, `small` space at 32x32, "
           "12k training / 1000 held-out images, batch 64, lr 0.05 cosine. Inherited = held-out "
           "accuracy of the sub-network with the supernet's weights after warm-up (BN on batch "
           f"statistics); standalone = the same sub-network trained from scratch for "
           f"{args.standalone_steps} steps ({standalone_s / len(subnets):.0f} s each). "
           "Published weight-sharing NAS often reaches tau ~0-0.3; the aim here is >= 0.3.", "",
           "| weight sharing | warm-up steps | s | supernet train acc (last 50 steps) | k3e6 path held-out acc | "
           "inherited acc (mean, range) | standalone acc (mean, range) | Kendall tau |",
           "|---|---:|---:|---:|---:|---|---|---:|"]
  for sharing, warmup, train_acc, k3e6_acc, scores, tau, seconds in results:
    lines.append(f"| {sharing} | {warmup} | {seconds:.0f} | {train_acc:.3f} | {k3e6_acc:.3f} | "
                 f"{np.mean(scores):.3f} ({min(scores):.3f}-{max(scores):.3f}) | "
                 f"{np.mean(truth):.3f} ({min(truth):.3f}-{max(truth):.3f}) | {tau:+.2f} |")
  publish(args.section, lines)


if __name__ == "__main__":
  main()
