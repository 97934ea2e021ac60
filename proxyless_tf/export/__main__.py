"""`python -m proxyless_tf.export --arch=NAME_OR_FILE [--checkpoint=...] --out=DIR --quantize=...`"""

from __future__ import annotations

import os

import numpy as np
from absl import flags, logging

from proxyless_tf.arch import load_arch, save_arch
from proxyless_tf.errors import UserError
from proxyless_tf.export import tflite
from proxyless_tf.export.pipeline import export_model, report
from proxyless_tf.utils.cli import run_main

FLAGS = flags.FLAGS
flags.DEFINE_string("arch", None, "Preset name, arch JSON, or PyTorch net.config.")
flags.DEFINE_string("checkpoint", None, "Trained weights: a .weights.h5 or .keras file from "
                    "proxyless_tf.train, or a PyTorch checkpoint (.pth / .pt / .tar) of the "
                    "original ProxylessNAS code or pytorchcv (read without torch). Without it the "
                    "net is untrained (BN statistics are set from the calibration batch so the "
                    "outputs are meaningful).")
flags.DEFINE_string("out", None, "Output directory.")
flags.DEFINE_string("quantize", "float,dynamic,int8", "Comma-separated: float, dynamic, int8.")
flags.DEFINE_integer("input_size", None, "Override the arch's input resolution.", lower_bound=1)
flags.DEFINE_integer("input_channels", None, "Override the arch's input channels.", lower_bound=1)
flags.DEFINE_integer("num_classes", None, "Override the arch's number of classes.", lower_bound=1)
flags.DEFINE_string("dataset", None, "Data source for int8 calibration and the checks "
                    "(fashion_mnist_local, folder:PATH, tfrecord:PREFIX, or a prepared tfds name). "
                    "Without it: random inputs, with a warning.")
flags.DEFINE_string("data_dir", None, "Directory of the dataset's files.")
flags.DEFINE_integer("calibration_samples", 128, "Representative examples for int8.", lower_bound=1)
flags.DEFINE_integer("check_samples", 64, "Inputs on which TFLite is compared against Keras.",
                     lower_bound=1)
flags.DEFINE_float("min_quantized_agreement", 0.0,
                   "Fail when a quantized model's top-1 agreement with Keras is below this.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("seed", 0, "Seed for the random inputs.", lower_bound=0)
flags.DEFINE_bool("split_large_depthwise", True, "Run depthwise convs with more than 25 taps (7x7) "
                  "as <= 25-tap pieces, the same function at XNNPACK's fast path (CPU and phone "
                  "CPU targets). Turn off for GPU / NNAPI delegates.")
flags.DEFINE_enum("input", None, ["uint8", "normalized"], "What the exported files take: uint8 "
                  "raw pixels, normalized inside the model (x / 127.5 - 1; for apps), or float32 "
                  "already normalized. Default: uint8, or normalized for a PyTorch --checkpoint "
                  "(those nets expect ImageNet mean/std, which the app applies).")
flags.DEFINE_integer("signature_batch", 1, "Batch dimension of the exported signature (0: dynamic).",
                     lower_bound=0)


PYTORCH_SUFFIXES = (".pth", ".pt", ".pth.tar", ".tar", ".bin")


def load_model(config, checkpoint):
  import keras
  from proxyless_tf.model import arch_from_model, build_model
  if checkpoint and checkpoint.endswith(".keras"):
    if not os.path.exists(checkpoint):
      raise UserError(f"--checkpoint {checkpoint} does not exist")
    model = keras.saving.load_model(checkpoint)
    return model, arch_from_model(model)
  model = build_model(config)
  if checkpoint:
    if not os.path.exists(checkpoint):
      raise UserError(f"--checkpoint {checkpoint} does not exist")
    if checkpoint.endswith(PYTORCH_SUFFIXES):
      from proxyless_tf.model.pytorch_weights import load_pytorch_weights
      scheme = load_pytorch_weights(model, config, checkpoint)
      logging.info("PyTorch weights (%s naming) loaded from %s", scheme, checkpoint)
      return model, config
    try:
      model.load_weights(checkpoint)
    except ValueError as e:
      raise UserError(f"--checkpoint {checkpoint} does not fit arch '{config.name}': "
                      f"{str(e).splitlines()[0]}") from None
  return model, config


def main(argv):
  del argv
  if not FLAGS.arch or not FLAGS.out:
    raise UserError("--arch and --out are required, e.g. --arch=proxyless_mobile --out=/tmp/export")
  modes = tflite.parse_modes(FLAGS.quantize)
  config = load_arch(FLAGS.arch).with_io(FLAGS.input_size, FLAGS.input_channels, FLAGS.num_classes)
  model, config = load_model(config, FLAGS.checkpoint)
  shape = (config.input_size, config.input_size, config.input_channels)
  rng = np.random.default_rng(FLAGS.seed)
  if FLAGS.dataset:
    from proxyless_tf.data import load_dataset, sample_batch
    data = load_dataset(FLAGS.dataset, FLAGS.data_dir)
    calibration = sample_batch(data.train, FLAGS.calibration_samples, *shape[1:], seed=FLAGS.seed)
    check_inputs = sample_batch(data.test, FLAGS.check_samples, *shape[1:], seed=FLAGS.seed)
  else:
    if "int8" in modes:
      logging.warning("no --dataset: int8 is calibrated on random inputs; its accuracy on real "
                      "data will be worse than with --dataset")
    calibration = rng.standard_normal((FLAGS.calibration_samples, *shape)).astype(np.float32)
    check_inputs = rng.standard_normal((FLAGS.check_samples, *shape)).astype(np.float32)
  if not FLAGS.checkpoint:
    logging.warning("no --checkpoint: exporting an untrained net (BN statistics set from the "
                    "calibration batch)")
    tflite.set_bn_statistics(model, calibration)
  save_arch(config, os.path.join(FLAGS.out, "arch.json"))
  if FLAGS.signature_batch < 0:
    raise UserError(f"--signature_batch must be >= 0 (0: dynamic), got {FLAGS.signature_batch}")
  pytorch = bool(FLAGS.checkpoint) and FLAGS.checkpoint.endswith(PYTORCH_SUFFIXES)
  input_kind = FLAGS.input or ("normalized" if pytorch else "uint8")
  results = export_model(model, FLAGS.out, modes, calibration, check_inputs,
                         FLAGS.min_quantized_agreement,
                         max_depthwise_taps=tflite.XNNPACK_MAX_TAPS if FLAGS.split_large_depthwise
                         else None, batch_size=FLAGS.signature_batch or None,
                         input_kind=input_kind)
  report(results)
  from proxyless_tf.export.app_files import write_app_files
  names = data.class_names if FLAGS.dataset else ()
  written = write_app_files(FLAGS.out, config, {r.mode: r.path for r in results}, input_kind,
                            names)
  print(f"wrote {written['labels']} and {written['metadata']} (the app's input/output contract)")


if __name__ == "__main__":
  run_main(main)
