"""int8 accuracy of the XNNPACK depthwise rewrite on a TRAINED net (Fashion-MNIST).

  python -m benchmarks.studies.depthwise_split_int8 [--epochs=3 --train_examples=12000 --check=2000]

The split export quantizes each row piece separately (own output scale, requantized adds), so its
int8 model is not the unsplit int8 model. On an untrained net int8 and float disagree anyway, so
this trains a net of the `small` space with k7 e6 in every block (the worst case: every depthwise
conv split), exports it whole and split (float and int8, same calibration images), and reports
top-1 agreement with Keras and test accuracy on real test images.
"""

from __future__ import annotations

import argparse
import os
import time


import numpy as np

from benchmarks.common import publish
from proxyless_tf import litert
from proxyless_tf.data import load_dataset, normalize, sample_batch
from proxyless_tf.export.tflite import (convert_keras, deploy_form,
                                        representative_from_batch)
from proxyless_tf.space.space import get_space
from proxyless_tf.train import train


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--train_examples", type=int, default=12000)
  parser.add_argument("--check", type=int, default=2000)
  args = parser.parse_args()
  data = load_dataset("fashion_mnist_local")
  data.train = data.train.take(np.random.default_rng(0).permutation(len(data.train))
                               [:args.train_examples])
  space = get_space("small").with_task(32, 1, 10)
  k7e6 = [[c.name for c in s.candidates].index("k7_e6") for s in space.mixed_ops()]
  config = space.derive(k7e6, name="small_k7e6")
  start = time.monotonic()
  out = os.path.join("/tmp", "depthwise_split_int8")
  model, history = train(config, data, out, args.epochs, 128, 0.05, 0.9, 4e-5, 0.1, verbose=2)
  train_s = time.monotonic() - start
  calibration = sample_batch(data.train, 256, 32, 1, seed=1)
  test = data.test.take(np.random.default_rng(2).permutation(len(data.test))[:args.check])
  x, labels = normalize(test.images, 32, 1).numpy(), test.labels
  keras_top1 = np.argmax(model.predict(x, verbose=0, batch_size=256), -1)
  rows = {}
  for form, taps in (("whole", None), ("split", 25)):
    deployed = deploy_form(model, taps)
    for precision in ("float", "int8"):
      content = convert_keras(deployed, precision, representative_from_batch(calibration))
      top1 = np.argmax(litert.run(litert.make_interpreter(model_content=content), x), -1)
      rows[(form, precision)] = top1
  lines = ["## The depthwise rewrite in int8, on a trained net", "",
           f"Command: `python -m benchmarks.studies.depthwise_split_int8 --epochs={args.epochs} "
           f"--train_examples={args.train_examples} --check={args.check}`  ",
           f"{time.strftime('%Y-%m-%d')}. `small` space at 32x32 with k7 e6 in every block (every "
           f"depthwise conv split), trained {args.epochs} epochs on {args.train_examples} "
           f"Fashion-MNIST images ({train_s:.0f} s; Keras test accuracy "
           f"{history['val_accuracy'][-1]:.4f} on all 10k). int8 calibrated on 256 training images. "
           f"Top-1 on {len(x)} test images.", "",
           "| export | top-1 agreement with Keras | accuracy | agreement with the whole int8 |",
           "|---|---:|---:|---:|"]
  for (form, precision), top1 in rows.items():
    accuracy = f"{np.mean(top1 == labels):.4f}"
    vs_whole = f"{np.mean(top1 == rows[('whole', 'int8')]):.2%}" if precision == "int8" else "-"
    lines.append(f"| {form} {precision} | {np.mean(top1 == keras_top1):.2%} | {accuracy} | "
                 f"{vs_whole} |")
  lines.append(f"| Keras float | 100.00% | {np.mean(keras_top1 == labels):.4f} | - |")
  publish("depthwise_split_int8", lines)


if __name__ == "__main__":
  main()
