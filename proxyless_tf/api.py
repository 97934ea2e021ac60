"""The Python API: `import proxyless_tf as ptf`.

    arch = ptf.search((x_train, y_train), target="flops", target_latency=9.6, epochs=3).arch
    model, history = ptf.train(arch, ((x_train, y_train), (x_test, y_test)), epochs=5)
    files = ptf.export(model, "export/", quantize=("float", "int8"), data=(x_train, y_train))
    ptf.benchmark(files["int8"]).summary["median_ms"]

Data is a dataset name (`"fashion_mnist_local"`, `"folder:PATH"`, `"tfrecord:PREFIX"`, a prepared
tensorflow-datasets name), numpy arrays `(images, labels)` or `((train), (test))`, or a finite
`tf.data.Dataset` of `(image, label)` (batched or not). Images are HxWxC (or HxW) uint8 in
[0, 255] or floats in [0, 1]. Results are objects (the architecture, a `keras.Model`, a history);
Keras callbacks are honoured. The command-line tools are thin layers over the same code; errors
here name arguments, not flags.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np

from proxyless_tf.errors import UserError


def _api_errors(fn):
  """UserError worded for the command line (`--batch_size`) -> ValueError naming arguments."""
  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    try:
      return fn(*args, **kwargs)
    except UserError as e:
      raise ValueError(re.sub(r"--(\w+)", r"\1", str(e))) from None
  return wrapped


# -- data ------------------------------------------------------------------------------------------

def _images(x, what: str) -> np.ndarray:
  x = np.asarray(x)
  if x.ndim == 3:
    x = x[..., None]
  if x.ndim != 4:
    raise UserError(f"{what}: images must be (N, H, W) or (N, H, W, C), got shape {x.shape}")
  if x.dtype == np.uint8:
    return x
  if np.issubdtype(x.dtype, np.floating):
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
      raise UserError(f"{what}: float images must be in [0, 1] (or pass uint8 in [0, 255]); "
                      f"got values in [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}]")
    return np.round(x * 255).astype(np.uint8)
  raise UserError(f"{what}: images must be uint8 or float, got {x.dtype}")


def _labels(y, count: int, what: str) -> np.ndarray:
  y = np.asarray(y)
  if y.ndim == 2 and y.shape[1] > 1:  # one-hot
    y = y.argmax(1)
  y = y.reshape(-1)
  if len(y) != count:
    raise UserError(f"{what}: {count} images but {len(y)} labels")
  if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
    raise UserError(f"{what}: labels must be integers >= 0 (class indices)")
  return y.astype(np.int32)


def _from_tf_data(ds, what: str):
  import tensorflow as tf
  spec = ds.element_spec
  if not (isinstance(spec, tuple) and len(spec) == 2):
    raise UserError(f"{what}: a tf.data.Dataset must yield (image, label) pairs")
  if spec[0].shape.rank == 4:
    ds = ds.unbatch()
  if ds.cardinality() == tf.data.INFINITE_CARDINALITY:
    raise UserError(f"{what}: the tf.data.Dataset is infinite (repeat()); pass a finite one")
  images, labels = [], []
  for x, y in ds.as_numpy_iterator():
    images.append(x)
    labels.append(y)
  if not images:
    raise UserError(f"{what}: the tf.data.Dataset is empty")
  return np.stack(images), np.stack(labels)


def as_split(data, what: str = "data"):
  """(images, labels) / tf.data.Dataset -> data.Split."""
  import tensorflow as tf
  from proxyless_tf.data import Split
  if isinstance(data, Split):
    return data
  if isinstance(data, tf.data.Dataset):
    data = _from_tf_data(data, what)
  if not (isinstance(data, (tuple, list)) and len(data) == 2):
    raise UserError(f"{what}: expected (images, labels), a tf.data.Dataset or a dataset name")
  images = _images(data[0], what)
  return Split(images, _labels(data[1], len(images), what))


def as_dataset(data, num_classes: int | None = None, test_fraction: float = 0.1, seed: int = 0,
               data_dir: str | None = None):
  """Any accepted data -> data.Dataset (train, test). Without a test part, `test_fraction` of the
  examples is held back as the test split."""
  import tensorflow as tf
  from proxyless_tf.data import Dataset, load_dataset
  if isinstance(data, Dataset):
    return data
  if isinstance(data, str):
    return load_dataset(data, data_dir)
  if (isinstance(data, (tuple, list)) and len(data) == 2
      and all(isinstance(d, (tuple, list, tf.data.Dataset)) for d in data)):
    train, test = as_split(data[0], "data[0] (train)"), as_split(data[1], "data[1] (test)")
  else:
    whole = as_split(data)
    order = np.random.default_rng(seed).permutation(len(whole))
    cut = max(1, int(len(whole) * test_fraction))
    train, test = whole.take(np.sort(order[cut:])), whole.take(np.sort(order[:cut]))
  if train.images.shape[1:] != test.images.shape[1:]:
    raise UserError(f"train images are {train.images.shape[1:]} but test images "
                    f"{test.images.shape[1:]}")
  classes = num_classes or int(max(train.labels.max(), test.labels.max())) + 1
  return Dataset("arrays", train, test, classes)


# -- the jobs --------------------------------------------------------------------------------------

@_api_errors
def search(data, *, target: str = "flops", out: str = "runs/search",
           target_latency: float | str = 0.0,
           latency_table: str | None = None, precision: str | None = None, num_threads: int = 1,
           latency_batch_size: int = 8, callbacks=None, resume: bool = False, cost_model=None, strategy=None, log=print,
           **options):
  """Searches an architecture for `target` ("flops", "cpu", "mobile", "gpu", "phone_gpu",
  "none"), or for your own `cost_model`. "gpu" measures this machine's GPU at batch
  `latency_batch_size` (XLA; its CPU where it has none), "phone_gpu" is a phone's GPU delegate. `options` are SearchConfig's fields (space, epochs, warmup_epochs,
  batch_size, arch_lr, weight_sharing, rerank_candidates, ...); the target's flag file supplies
  the rest, as on the command line. `target_latency`: in the cost's unit (ms, MMACs) or a
  ratio to the space's reference net ("0.8x"). Returns a SearchResult: `.arch`
  (ArchConfig), `.history`, `.predicted_latency`, `.arch_path`, `.rerank` (the re-ranked
  candidates and their held-out scores, or None), `.latency_check` (a host table's target: the
  derived net measured next to the reference net)."""
  from proxyless_tf.latency.targets import cost_model_for_target
  from proxyless_tf.search.config import coerce
  from proxyless_tf.search.runner import SearchConfig, SearchRun
  from proxyless_tf.utils.search_flags import TARGETS, read_target_defaults
  if target not in TARGETS:
    raise UserError(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
  fields = {f.name for f in dataclasses.fields(SearchConfig)}
  unknown = sorted(set(options) - fields)
  if unknown:
    raise UserError(f"search() got unknown options {', '.join(unknown)}; known: "
                    f"{', '.join(sorted(fields - {'out'}))}")
  defaults = read_target_defaults(target)
  table = latency_table or defaults.pop("latency_table", None)
  precision = precision or defaults.get("precision", "float")
  settings = {k: v for k, v in defaults.items() if k in fields}
  settings.update(options)
  if target_latency:
    settings["target_latency"] = target_latency
  settings["out"] = out
  if not isinstance(data, str):  # the data given, not the flag file's dataset
    settings["dataset"] = "arrays"
  config = SearchConfig(**{k: coerce(k, v) for k, v in settings.items()})
  if cost_model is None and target != "none":
    cost_model = cost_model_for_target(target, table=table, precision=precision,
                                       num_threads=num_threads, log=log,
                                       batch_size=latency_batch_size,
                                       estimate_uncovered=latency_table is None)
  dataset = None
  if isinstance(data, str):
    config.dataset = data
  else:
    dataset = as_dataset(data, seed=config.seed)
  run = SearchRun(config, cost_model, log=log, dataset=dataset, strategy=strategy)
  return run.run(resume=resume, callbacks=callbacks)


@_api_errors
def train(arch, data, *, epochs: int = 10, batch_size: int = 128, lr: float = 0.05,
          momentum: float = 0.9, weight_decay: float = 4e-5, label_smoothing: float = 0.1,
          out: str = "runs/train", callbacks=(), strategy="default", seed: int = 0,
          dtype_policy: str = "float32", verbose: int = "auto", cutout: int = 0):
  """Trains `arch` (an ArchConfig or TreeNetConfig, a file, or a preset name) from scratch on
  `data`; returns (keras.Model, history dict). The net's input channels and classes follow the
  data. `cutout`: side of the cutout square (16 in the CIFAR recipe; 0: none)."""
  from proxyless_tf.train import train as train_model
  config = _arch(arch)
  dataset = as_dataset(data, seed=seed)
  config = config.with_io(num_classes=dataset.num_classes,
                          input_channels=dataset.image_shape[-1])
  if verbose == "auto":
    import sys
    verbose = 1 if sys.stdout.isatty() else 2
  return train_model(config, dataset, out, epochs, batch_size, lr, momentum, weight_decay,
                     label_smoothing, strategy=strategy, seed=seed, verbose=verbose,
                     dtype_policy=dtype_policy, callbacks=list(callbacks or ()), cutout=cutout)


@_api_errors
def export(model, out: str, *, quantize=("float", "int8"), data=None,
           split_large_depthwise: bool = True, input: str = "uint8", class_names=(),
           log=print) -> dict:
  """Writes a SavedModel and one .tflite per mode of `quantize` ("float", "dynamic", "int8"),
  each checked against `model`, plus `labels.txt` and `model.json` (the app's contract). `data`
  (images) calibrates int8 and feeds the checks (random inputs without it). `input`: "uint8"
  (raw pixels, normalized inside the model) or "normalized" (floats in [-1, 1]).
  Returns {mode: path}."""
  import os
  from proxyless_tf.data.pipeline import normalize
  from proxyless_tf.export import tflite
  from proxyless_tf.export.pipeline import export_model, report
  modes = tflite.parse_modes(",".join(quantize) if not isinstance(quantize, str) else quantize)
  size, channels = model.input_shape[1], model.input_shape[3]
  if data is None:
    images = np.random.default_rng(0).integers(0, 256, (128, size, size, channels), np.uint8)
  else:
    images = as_split(data).images if not isinstance(data, np.ndarray) else _images(data, "data")
  x = normalize(images[:256], size, channels).numpy()
  taps = tflite.XNNPACK_MAX_TAPS if split_large_depthwise else None
  results = export_model(model, out, modes, x[:128], x, log=log, input_kind=input,
                         max_depthwise_taps=taps)
  report(results, log=log)
  from proxyless_tf.export.app_files import write_app_files
  from proxyless_tf.model import arch_from_model
  files = {r.mode: r.path for r in results}
  write_app_files(out, arch_from_model(model), files, input, class_names)
  return files


@_api_errors
def benchmark(tflite_path: str, *, num_threads: int = 1, warmup_runs: int = 10,
              num_runs: int = 50):
  """Times a .tflite on this host with LiteRT; `.summary` has median_ms, p10_ms, p90_ms, ..."""
  from proxyless_tf.benchmark.host import benchmark_host
  return benchmark_host(tflite_path, num_threads=num_threads, warmup=warmup_runs, runs=num_runs)


def _arch(arch):
  """A net config of any family, from itself, a search result, a file or a preset name."""
  from proxyless_tf.arch import get_preset, is_net_config, load_arch
  if is_net_config(arch):
    return arch
  if is_net_config(getattr(arch, "arch", None)):  # a SearchResult
    return arch.arch
  if isinstance(arch, str):
    import os
    return load_arch(arch) if os.path.exists(arch) else get_preset(arch)
  raise UserError(f"arch: expected an architecture config, a search result, a file or a preset "
                  f"name, got {type(arch).__name__}")
