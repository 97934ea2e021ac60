"""GPU latency (`--target=gpu`): Keras models compiled with XLA and timed on the device they run on.

The paper's GPU setting is a server GPU at batch 8. There a network runs as a compiled program
(XLA fuses BN, ReLU6 and the residual adds into the convolutions), so an op is priced the same
way: its Keras model (the deployed network's own layers) compiled for inference, `jax.jit` of
`Model.stateless_call` under `KERAS_BACKEND=jax`, `tf.function(jit_compile=True)` under
TensorFlow, and timed at batch `batch_size` in float32, float16 or bfloat16 (weights and
activations in that type). Every timed call waits for the device to finish
(`block_until_ready` / `sync_devices`) before the clock stops, and warm-up calls (the compile
among them) are not timed. Rounds, medians and the canary are the table builder's, as for the
host and phone tables.

Nothing here needs TensorFlow under the JAX backend: a GPU machine with JAX and Keras only builds
these tables. Where no GPU is visible the same path runs on the backend's CPU (tests, and
`benchmarks/gpu_latency.py` without a GPU) and the table says so in its `device`.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time

import numpy as np

from proxyless_tf.errors import UserError

DTYPES = ("float32", "float16", "bfloat16")
BACKENDS = ("jax", "tensorflow")
DEVICE_PREFIX = "xla: "  # table metadata "device": "xla: NVIDIA H200 (gpu)" / "xla: <cpu> (cpu)"
DEFAULT_BATCH = 8  # the paper's GPU latency setting (V100, batch 8)


def is_xla_table(metadata: dict) -> bool:
  return str(metadata.get("device", "")).startswith(DEVICE_PREFIX)


def check_dtype(dtype: str) -> str:
  dtype = {"float": "float32"}.get(dtype, dtype)
  if dtype not in DTYPES:
    raise UserError(f"GPU latency is measured in {', '.join(DTYPES)}, got --precision={dtype} "
                    "(int8 is for the CPU and phone targets)")
  return dtype


def backend() -> str:
  import keras
  name = keras.backend.backend()
  if name not in BACKENDS:
    raise UserError(f"GPU latency tables are measured with XLA under KERAS_BACKEND=jax or "
                    f"tensorflow; this process runs Keras on {name!r}")
  return name


@contextlib.contextmanager
def compute_dtype(dtype: str):
  """Models built inside take `dtype` for weights, activations and inputs (Keras dtype policy and
  floatx), restored afterwards."""
  import keras
  dtype = check_dtype(dtype)
  old_policy, old_floatx = keras.config.dtype_policy(), keras.config.floatx()
  keras.config.set_dtype_policy(dtype)
  keras.config.set_floatx(dtype)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(old_policy)
    keras.config.set_floatx(old_floatx)


def _input(model, batch_size: int, dtype: str, seed: int = 0) -> np.ndarray:
  import ml_dtypes  # a Keras dependency: numpy's bfloat16
  shape = (batch_size, *model.inputs[0].shape[1:])
  x = np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
  return x.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def _jax_runner(model, x):
  import jax
  device = jax.devices()[0]
  trainable = jax.device_put([v.value for v in model.trainable_variables], device)
  frozen = jax.device_put([v.value for v in model.non_trainable_variables], device)
  x = jax.device_put(x, device)
  forward = jax.jit(lambda t, n, inputs: model.stateless_call(t, n, inputs, training=False)[0])

  def run():
    forward(trainable, frozen, x).block_until_ready()
  return run


def _tensorflow_runner(model, x):
  import tensorflow as tf
  gpus = tf.config.list_logical_devices("GPU")
  with tf.device(gpus[0].name if gpus else "/CPU:0"):
    x = tf.constant(x)
  forward = tf.function(lambda inputs: model(inputs, training=False), jit_compile=True)
  sync = tf.test.experimental.sync_devices

  def run():
    forward(x)
    sync()
  return run


def compiled(model, batch_size: int = DEFAULT_BATCH, dtype: str = "float32"):
  """A no-argument callable: one synchronized inference of `model` at `batch_size` (compiled on
  its first call, so the first warm-up pays for it)."""
  x = _input(model, batch_size, dtype)
  return _jax_runner(model, x) if backend() == "jax" else _tensorflow_runner(model, x)


def time_runner(run, warmup: int = 10, runs: int = 30, max_seconds: float | None = None,
                min_runs: int = 3) -> dict:
  """Per-call wall times of `run` after `warmup` untimed calls (the first compiles): the host
  summary's fields. `max_seconds` bounds the warm-up and the timed calls each, after at least one
  warm-up and `min_runs` timed calls: a whole network on a CPU takes seconds per batch, where
  a GPU op takes microseconds and gets all its runs."""
  begin = time.perf_counter()
  for i in range(max(1, warmup)):
    run()
    if max_seconds is not None and time.perf_counter() - begin > max_seconds:
      break
  times = []
  begin = time.perf_counter()
  while len(times) < runs:
    start = time.perf_counter()
    run()
    times.append((time.perf_counter() - start) * 1e3)
    if (max_seconds is not None and len(times) >= min_runs
        and time.perf_counter() - begin > max_seconds):
      break
  times = np.array(times)
  return {"mean_ms": float(times.mean()), "median_ms": float(np.median(times)),
          "std_ms": float(times.std()), "count": int(len(times))}


def compile_op(op, batch_size: int = DEFAULT_BATCH, dtype: str = "float32"):
  from proxyless_tf.latency.op_models import op_model
  with compute_dtype(dtype):
    model = op_model(op)  # whole: the XNNPACK split is for LiteRT
  return compiled(model, batch_size, dtype)


def compile_arch(config, batch_size: int = DEFAULT_BATCH, dtype: str = "float32"):
  from proxyless_tf.model import build_model
  with compute_dtype(dtype):
    model = build_model(config)
  return compiled(model, batch_size, dtype)


class XlaMeasurer:
  """Times ops of a table build (`measure.build_table`): each op compiled once, kept for the
  later rounds (compiling costs more than timing)."""

  default_rounds = 5

  def __init__(self, batch_size: int = DEFAULT_BATCH, dtype: str = "float32", warmup: int = 10,
               runs: int = 30):
    if batch_size < 1:
      raise UserError(f"--batch_size must be >= 1, got {batch_size}")
    self.batch_size, self.dtype = batch_size, check_dtype(dtype)
    self.warmup, self.runs = warmup, runs
    self.name = f"xla:{backend()}"
    self._runners = {}

  def __call__(self, op, precision: str) -> dict:
    from proxyless_tf.latency.measure import entry_from_summary
    if op.key not in self._runners:
      self._runners[op.key] = compile_op(op, self.batch_size, self.dtype)
    return entry_from_summary(time_runner(self._runners[op.key], self.warmup, self.runs))


def _nvidia_smi() -> dict:
  """name, memory, driver and the driver's CUDA version from nvidia-smi (empty where absent)."""
  if not shutil.which("nvidia-smi"):
    return {}
  try:
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                          "--format=csv,noheader,nounits"], capture_output=True, text=True,
                         timeout=30).stdout.strip().splitlines()
    header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout
  except (OSError, subprocess.SubprocessError):
    return {}
  if not out:
    return {}
  name, memory, driver = [f.strip() for f in (out[0].split(",") + ["", "", ""])[:3]]
  info = {"gpu": name, "memory_mb": int(float(memory)) if memory.replace(".", "").isdigit()
          else memory, "driver": driver}
  if "CUDA Version:" in header:
    info["cuda_driver"] = header.split("CUDA Version:")[1].split()[0]
  return info


def _jax_identity() -> dict:
  import jax
  import jaxlib
  device = jax.devices()[0]
  info = {"backend": "jax", "backend_version": jax.__version__, "jaxlib": jaxlib.__version__,
          "platform": device.platform, "device_kind": device.device_kind}
  try:
    info["memory_bytes"] = int((device.memory_stats() or {}).get("bytes_limit", 0)) or None
  except Exception:  # noqa: BLE001  memory_stats is not implemented on every platform
    pass
  try:
    from jax._src.lib import cuda_versions  # present in CUDA builds of jaxlib
    if cuda_versions is not None:
      info["cuda"] = str(cuda_versions.cuda_runtime_get_version())
      info["cudnn"] = str(cuda_versions.cudnn_get_version())
  except Exception:  # noqa: BLE001  a CPU jaxlib has none
    pass
  return info


def _tensorflow_identity() -> dict:
  import tensorflow as tf
  gpus = tf.config.list_physical_devices("GPU")
  build = tf.sysconfig.get_build_info()
  info = {"backend": "tensorflow", "backend_version": tf.__version__,
          "platform": "gpu" if gpus else "cpu",
          "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version")}
  if gpus:
    info["device_kind"] = tf.config.experimental.get_device_details(gpus[0]).get("device_name")
  return info


def xla_identity() -> dict:
  """Device, memory, driver, CUDA / cuDNN and the backend with its version; on a CPU the host's
  identity fields as well (`identity.host_identity`)."""
  import keras
  info = _jax_identity() if backend() == "jax" else _tensorflow_identity()
  info["keras"] = keras.__version__
  info = {k: v for k, v in info.items() if v not in (None, "")}
  if info.get("platform") == "gpu":
    info.update(_nvidia_smi())
    info.setdefault("gpu", info.get("device_kind", "unknown GPU"))
  else:  # the CPU's speed-deciding fields, as a host table records them (not its LiteRT runtime)
    from proxyless_tf.benchmark.host import cpu_model
    from proxyless_tf.latency.identity import host_identity
    host = host_identity()
    info.update(gpu=None, cpu=cpu_model(), **{k: host.get(k, "") for k in (
        "machine", "family", "model", "stepping", "cpus")})
  return info


def xla_metadata(batch_size: int, dtype: str) -> dict:
  """A GPU table's metadata (`builder.build_space_table`): what was measured, where and how."""
  from proxyless_tf.latency.identity import fingerprint
  identity = xla_identity()
  on_gpu = identity.get("platform") == "gpu"
  name = identity["gpu"] if on_gpu else identity["cpu"]
  return {"device": f"{DEVICE_PREFIX}{name} ({'gpu' if on_gpu else 'cpu'})",
          "accelerator": "gpu" if on_gpu else "cpu", "cpu": identity.get("cpu"),
          "runtime": f"xla ({identity['backend']} {identity['backend_version']})",
          "threads": None, "delegate": f"xla jit ({identity['backend']})",
          "precision": check_dtype(dtype), "batch_size": batch_size, "depthwise_max_taps": None,
          "identity": identity, "fingerprint": fingerprint(identity), "estimated": False,
          "target": "gpu"}
