"""`python -m proxyless_tf.train --arch=derived.json --dataset=... --out=DIR [--export=float,int8]`

Retrains a searched (or published) architecture from scratch with Keras `fit`: SGD with Nesterov
momentum, cosine lr, label smoothing, weight decay. A killed run resumes at its last epoch as if
never stopped; `--strategy=mirrored` trains on all local GPUs through tf.distribute.
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.train import train
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.files import atomic_write_text
from proxyless_tf.utils.run_flags import define_strategy_flags, define_stream_flags

FLAGS = flags.FLAGS
flags.DEFINE_string("arch", None, "Arch JSON (e.g. a search's arch.json), preset, or net.config.")
flags.DEFINE_string("dataset", "fashion_mnist_local", "Data source (see README).")
flags.DEFINE_string("data_dir", None, "Where the dataset's files are.")
flags.DEFINE_string("out", "runs/train", "Output directory.")
flags.DEFINE_integer("epochs", 10, "Epochs.", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Global batch size.", lower_bound=1)
flags.DEFINE_float("lr", 0.05, "Initial lr (cosine decay to 0).")
flags.DEFINE_float("momentum", 0.9, "Nesterov momentum.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_float("weight_decay", 4e-5, "Weight decay.", lower_bound=0.0)
flags.DEFINE_float("label_smoothing", 0.1, "Label smoothing.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("max_train_examples", 0, "Use at most this many training images (0: all).",
                     lower_bound=0)
flags.DEFINE_string("quantize", "", "After training, export these modes (comma-separated: float, "
                    "dynamic, int8), as `export --quantize`. --export is the same flag.")
flags.DEFINE_alias("export", "quantize")
flags.DEFINE_enum("input", "uint8", ["uint8", "normalized"], "--export: what the exported files "
                  "take: uint8 raw pixels (normalized inside the model; for apps) or float32 "
                  "already in [-1, 1].")
flags.DEFINE_integer("cutout", 0, "Cutout: one square of this side (pixels) blanked per training "
                     "image (the CIFAR recipe: 16; 0: off).", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed.", lower_bound=0)
flags.DEFINE_bool("deterministic", True, "TensorFlow op determinism and one inter-op thread: the "
                  "same flags and seed give the same weights and history.json (cost: a few %).")
flags.DEFINE_bool("split_large_depthwise", True, "--export: depthwise convs over 25 taps as "
                  "<= 25-tap pieces for XNNPACK (same function); off for GPU / NNAPI delegates.")


define_strategy_flags()
define_stream_flags()


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}")
  from proxyless_tf.utils.strategy import split_host_cpu
  split_host_cpu(FLAGS.cpu_devices)
  import keras
  on_tensorflow = keras.backend.backend() == "tensorflow"
  if FLAGS.deterministic and on_tensorflow:
    from proxyless_tf.utils.determinism import enable_determinism
    enable_determinism()  # before TensorFlow starts its runtime
  if not FLAGS.arch:
    raise UserError("--arch is required (e.g. --arch=runs/quickstart/arch.json)")
  from proxyless_tf.arch import load_arch, save_arch
  if FLAGS.quantize and not on_tensorflow:
    raise UserError(f"--export converts with TensorFlow's TFLite converter; under KERAS_BACKEND="
                    f"{keras.backend.backend()} train without it, then export the saved weights "
                    "where TensorFlow is installed: python -m proxyless_tf.export "
                    f"--arch={FLAGS.out}/arch.json --checkpoint={FLAGS.out}/model.weights.h5 "
                    f"--dataset={FLAGS.dataset}")
  if FLAGS.quantize:
    from proxyless_tf.export import tflite
  modes = tflite.parse_modes(FLAGS.quantize) if FLAGS.quantize else ()  # checked before training
  if os.path.exists(FLAGS.out) and not os.path.isdir(FLAGS.out):
    raise UserError(f"--out {FLAGS.out} is a file; give a directory")
  from proxyless_tf.data.search_data import open_training_data
  data = open_training_data(FLAGS.dataset, FLAGS.data_dir, stream=FLAGS.stream,
                            max_train_examples=FLAGS.max_train_examples, augment=FLAGS.augment,
                            seed=FLAGS.seed)
  streamed = getattr(data, "streamed", False)
  channels = data.channels if streamed else data.image_shape[-1]
  config = load_arch(FLAGS.arch).with_io(num_classes=data.num_classes)
  if config.input_channels != channels:
    config = config.with_io(input_channels=channels)
  from proxyless_tf.utils.run_lock import hold_directory
  hold_directory(FLAGS.out, "training")  # before the first file is written
  save_arch(config, os.path.join(FLAGS.out, "arch.json"))
  model, history = train(config, data, FLAGS.out, FLAGS.epochs, FLAGS.batch_size, FLAGS.lr,
                         FLAGS.momentum, FLAGS.weight_decay, FLAGS.label_smoothing,
                         FLAGS.strategy, FLAGS.seed, dtype_policy=FLAGS.dtype_policy,
                         verbose=1 if sys.stdout.isatty() else 2, cutout=FLAGS.cutout)  # a live bar on a terminal
  # one history format with the search: a list of per-epoch rows
  rows = [{"epoch": i + 1, **{k: float(v[i]) for k, v in history.items()}}
          for i in range(len(next(iter(history.values()))))]
  atomic_write_text(os.path.join(FLAGS.out, "history.json"), json.dumps(rows, indent=2) + "\n")
  accuracy = history["val_accuracy"][-1]
  chance = 1.0 / config.num_classes
  print(f"test accuracy {accuracy:.4f}; wrote {FLAGS.out}/model.keras")
  if accuracy <= 1.5 * chance:
    print(f"warning: {accuracy:.4f} is chance level for {config.num_classes} classes "
          f"({chance:.3f}): the net did not learn; train longer (--epochs) or lower --lr. The "
          "export check below compares TFLite with this Keras model, not with the labels.")
  if modes:
    from proxyless_tf.data import sample_batch
    from proxyless_tf.export.pipeline import export_model, report
    shape = (config.input_size, config.input_channels)
    if streamed:  # a calibration batch and a check batch from the streams
      calibration = next(iter(data.train.dataset(128, *shape, training=False)))[0].numpy()
      check = next(iter(data.test.dataset(256, *shape, training=False, drop_remainder=False)))[0]
      check = check.numpy()
    else:
      calibration = sample_batch(data.train, 128, *shape, seed=FLAGS.seed)
      check = sample_batch(data.test, 256, *shape, seed=FLAGS.seed)
    from proxyless_tf.export import tflite
    results = export_model(model, os.path.join(FLAGS.out, "export"),
                           modes, calibration, check,
                           max_depthwise_taps=tflite.XNNPACK_MAX_TAPS
                           if FLAGS.split_large_depthwise else None, input_kind=FLAGS.input)
    report(results)
    from proxyless_tf.export.app_files import write_app_files
    written = write_app_files(os.path.join(FLAGS.out, "export"), config,
                              {r.mode: r.path for r in results}, FLAGS.input,
                              data.class_names, extra={"test_accuracy": float(accuracy)})
    print(f"wrote {written['labels']} and {written['metadata']} (the app's input/output contract)")


if __name__ == "__main__":
  run_main(main)
