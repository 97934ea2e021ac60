"""What an app needs beside the .tflite files: `labels.txt` and a metadata sidecar
(`model.json`): the input contract (size, dtype, normalization), the output contract, the class
names, the architecture and, when measured, the latency. README "Use the model in an Android app"
reads from these."""

from __future__ import annotations

import json
import os

from proxyless_tf.utils.files import atomic_write_text


def class_names_or_numbers(names, num_classes: int) -> list[str]:
  names = list(names or [])
  return names if len(names) == num_classes else [str(i) for i in range(num_classes)]


def input_contract(config, input_kind: str) -> dict:
  shape = [1, config.input_size, config.input_size, config.input_channels]
  if input_kind == "uint8":
    return {"shape": shape, "dtype": "uint8", "range": [0, 255], "layout": "NHWC",
            "normalization": "inside the model (x / 127.5 - 1): feed raw RGB/gray pixels"}
  return {"shape": shape, "dtype": "float32 (int8 files: int8, quantized with the input tensor's "
          "scale / zero point)", "layout": "NHWC",
          "normalization": "outside the model: x = pixel / 127.5 - 1, in [-1, 1]"}


def write_app_files(out_dir: str, config, files: dict, input_kind: str, class_names=(),
                    latency_ms: dict | None = None, extra: dict | None = None) -> dict:
  """`files`: {mode: .tflite path}; `latency_ms`: {mode: measured median ms} when benchmarked.
  Returns {"labels": path, "metadata": path}."""
  from proxyless_tf import litert
  from proxyless_tf.version import __version__
  os.makedirs(out_dir, exist_ok=True)
  names = class_names_or_numbers(class_names, config.num_classes)
  labels_path = os.path.join(out_dir, "labels.txt")
  atomic_write_text(labels_path, "\n".join(names) + "\n")
  described = {}
  for mode, path in files.items():
    out = litert.make_interpreter(model_path=path).get_output_details()[0]
    scale, zero = out["quantization"]
    described[mode] = {"file": os.path.basename(path), "size_bytes": os.path.getsize(path),
                       "output_dtype": str(out["dtype"].__name__),
                       **({"output_scale": float(scale), "output_zero_point": int(zero)}
                          if scale else {})}
    if latency_ms and mode in latency_ms:
      described[mode]["measured_latency_ms"] = latency_ms[mode]
  metadata = {
      "name": config.name, "proxyless_tf_version": __version__,
      "input": input_contract(config, input_kind),
      "output": {"shape": [1, config.num_classes], "meaning": "logits, one per class in "
                 "labels.txt order (softmax gives probabilities); int8 files: real = "
                 "(q - output_zero_point) * output_scale"},
      "labels": os.path.basename(labels_path), "class_names": names, "files": described,
      "architecture": config.to_dict(), **(extra or {})}
  path = os.path.join(out_dir, "model.json")
  atomic_write_text(path, json.dumps(metadata, indent=2) + "\n")
  return {"labels": labels_path, "metadata": path}
