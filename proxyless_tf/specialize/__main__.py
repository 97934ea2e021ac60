"""`python -m proxyless_tf.specialize --target=cpu --target_latency=0.6 --dataset=... --out=DIR`

Search -> retrain (the searched net and the hand-designed baseline) -> export (float, int8) ->
verify against Keras -> benchmark on the target (this host, or a phone with --adb) -> REPORT.md.
Run the same command again to continue a killed run where it stopped.
"""

from __future__ import annotations

from absl import flags

from proxyless_tf.utils import search_flags
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.search_flags import (cost_model_from_flags, define_search_flags,
                                             start_search_command)

FLAGS = flags.FLAGS
define_search_flags(default_out="runs/specialize")
flags.adopt_module_key_flags(search_flags)
flags.DEFINE_integer("retrain_epochs", 10, "Epochs of the retraining from scratch.", lower_bound=1)
flags.DEFINE_integer("retrain_batch_size", 128, "Batch size of the retraining.", lower_bound=1)
flags.DEFINE_float("retrain_lr", 0.05, "Initial (cosine) lr of the retraining.")
flags.DEFINE_bool("baseline", True, "Also retrain and benchmark the hand-designed net of the space "
                  "(k3 e6 everywhere) for comparison.")
flags.DEFINE_integer("benchmark_rounds", 5, "Interleaved benchmark rounds (host).", lower_bound=1)
flags.DEFINE_integer("benchmark_runs", 50, "Timed runs per file and round.", lower_bound=1)
flags.DEFINE_bool("adb", False, "Benchmark on an Android phone (adb + benchmark_model).")
flags.DEFINE_string("serial", None, "adb serial.")
flags.DEFINE_string("benchmark_binary", None, "adb: local benchmark_model to push first.")
flags.DEFINE_enum("delegate", "xnnpack", ["xnnpack", "none", "gpu", "nnapi"], "adb: backend.")


def main(argv):
  search_config = start_search_command(argv, sub_folder="search")
  out = FLAGS.out
  from proxyless_tf.specialize import SpecializeConfig, specialize
  if FLAGS.delegate in ("gpu", "nnapi") and not FLAGS["split_large_depthwise"].present:
    # the split only pays on XNNPACK; elsewhere it adds ops (measured slower on builtin kernels)
    FLAGS.split_large_depthwise = False
    print(f"note: --delegate={FLAGS.delegate}: exporting without the XNNPACK depthwise split")
  spec = SpecializeConfig(
      out=out, retrain_epochs=FLAGS.retrain_epochs, batch_size=FLAGS.retrain_batch_size,
      lr=FLAGS.retrain_lr, max_train_examples=FLAGS.max_train_examples, baseline=FLAGS.baseline,
      split_large_depthwise=FLAGS.split_large_depthwise, benchmark_rounds=FLAGS.benchmark_rounds,
      benchmark_runs=FLAGS.benchmark_runs, num_threads=FLAGS.num_threads, adb=FLAGS.adb,
      serial=FLAGS.serial, benchmark_binary=FLAGS.benchmark_binary, delegate=FLAGS.delegate,
      seed=FLAGS.seed)
  spec.validate()
  specialize(search_config, spec, cost_model_from_flags())


if __name__ == "__main__":
  run_main(main)
