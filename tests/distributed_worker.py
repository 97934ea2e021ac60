"""Runs search steps under a tf.distribute strategy in a fresh process (tests/test_distributed.py).

A process of its own: the CPU can only be split into logical devices, and a multi-worker cluster
joined, before TensorFlow starts. Prints one JSON line; writes variables to --dump as .npz.

  equivalence: one weight step + one arch step per mode (and a REINFORCE update) on 2 mirrored
    logical CPUs vs the same steps on one device whose BN sees the global batch half by half
    (BN statistics are per replica, see proxyless_tf.utils.strategy).
  search: a small search (the tests' synthetic data) under --strategy, variables dumped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _variables(net) -> dict:
  import numpy as np
  return {v.path: np.array(v.numpy()) for v in net.weights if "moving_" not in v.path}


def equivalence(args) -> dict:
  from proxyless_tf.utils.strategy import make_strategy, replica_local_bn_statistics, split_host_cpu
  split_host_cpu(2)
  import keras
  import numpy as np
  import tensorflow as tf
  from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
  from proxyless_tf.search.steps import ArchObjective, SearchSteps
  from proxyless_tf.space.space import get_space
  from proxyless_tf.families.mbconv.supernet import Supernet

  class HalvesSupernet(Supernet):
    """One device; BN normalizes each half of the batch on its own, as each of 2 replicas does."""

    def call(self, inputs, training=None, mode="single"):
      h = inputs.shape[0] // 2
      return tf.concat([super(HalvesSupernet, self).call(inputs[:h], training, mode),
                        super(HalvesSupernet, self).call(inputs[h:], training, mode)], 0)

  space = get_space("tiny").with_task(16, 1, 10)
  rng = np.random.default_rng(0)
  x = rng.normal(size=(8, 16, 16, 1)).astype("float32")
  y = rng.integers(0, 10, 8).astype("int32")
  runs = []
  for strategy, cls in ((make_strategy("mirrored"), Supernet),
                        (tf.distribute.get_strategy(), HalvesSupernet)):
    keras.utils.set_random_seed(1)
    generator = tf.random.Generator.from_seed(3)
    with strategy.scope(), replica_local_bn_statistics():
      net = cls(space, weight_sharing=args.weight_sharing)
      expected = ExpectedCost(FlopsCostModel(), space)
      steps = SearchSteps(net, generator, "full_v2",
                          ArchObjective(expected, 0.1, "add_linear", lam=0.5),
                          arch_lr=0.05, strategy=strategy)
    results = []  # (what, losses, variables) after each step
    for what in ("warm-up weight step", "weight step", "full_v2", "rl", "two", "full"):
      if what in ("warm-up weight step", "weight step"):
        losses = [float(v) for v in steps.weight_step(x, y, 0.1, uniform=what.startswith("warm"))]
      elif what == "rl":
        losses = list(steps.rl_update(x, y, num_samples=3))
      else:
        steps.set_arch_mode(what)
        losses = [float(v) for v in steps.arch_step(x, y)]
      results.append((what, losses, _variables(net)))
    runs.append(results)
  report = {}
  for (what, a, va), (_, b, vb) in zip(*runs):
    report[what] = {
        "loss_diff": max(abs(p - q) for p, q in zip(a, b)),
        "weight_diff": max(float(np.max(np.abs(va[k] - vb[k]))) for k in va),
        "alpha_diff": max(float(np.max(np.abs(va[k] - vb[k]))) for k in va if "alpha" in k),
        "alpha_moved": max(float(np.max(np.abs(va[k]))) for k in va if "alpha" in k),
        "variables": len(va)}
  return {"replicas": make_strategy("mirrored").num_replicas_in_sync, "steps": report}


def search(args) -> dict:
  from proxyless_tf.utils.strategy import split_host_cpu
  split_host_cpu(args.cpu_devices)
  import numpy as np
  from conftest import make_synthetic_dataset
  from proxyless_tf.search.runner import SearchConfig, SearchRun
  config = SearchConfig(out=args.out, space="tiny", input_size=16, batch_size=16, warmup_epochs=1,
                        epochs=1, steps_per_epoch=4, arch_update_every=1, arch_skip_epochs=0,
                        valid_per_class=5, checkpoint_every=2, arch_lr=0.05, seed=0,
                        max_steps=args.max_steps, strategy=args.strategy,
                        weight_sharing=args.weight_sharing)
  run = SearchRun(config, log=lambda *a: None, dataset=make_synthetic_dataset(per_class=20))
  result = run.run(resume=args.resume)
  np.savez(args.dump, **{k.replace("/", "__"): v for k, v in _variables(run.net).items()})
  return {"steps": result.steps, "replicas": run.strategy.num_replicas_in_sync,
          "chief": run.chief, "arch": os.path.exists(os.path.join(args.out, "arch.json"))}


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("what", choices=["equivalence", "search"])
  parser.add_argument("--weight_sharing", default="independent")
  parser.add_argument("--strategy", default="default")
  parser.add_argument("--cpu_devices", type=int, default=1)
  parser.add_argument("--out")
  parser.add_argument("--dump")
  parser.add_argument("--max_steps", type=int, default=0)
  parser.add_argument("--resume", action="store_true")
  args = parser.parse_args()
  result = equivalence(args) if args.what == "equivalence" else search(args)
  print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
  main()
