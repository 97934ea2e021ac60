"""`--target=gpu`: XLA-compiled latency tables measured where they are built (here: the CPU),
the search priced by one, the phone's GPU delegate as `phone_gpu`, and a found net trained under
JAX without TensorFlow, then exported by TensorFlow with equal logits."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from proxyless_tf.errors import UserError
from proxyless_tf.search.runner import SearchRun
from test_search import _config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def test_gpu_target_measures_an_xla_table_and_prices_the_search(tmp_path, synthetic_dataset,
                                                                monkeypatch):
  from proxyless_tf.latency import host_cache
  from proxyless_tf.latency.host_cache import cache_dir
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.targets import cost_model_for_target
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  monkeypatch.setattr(host_cache, "XLA_SELF_CHECK_SAMPLES", 4)
  logs = []
  model = cost_model_for_target("gpu", precision="float", batch_size=4, log=logs.append)
  run = SearchRun(_config(tmp_path / "run", max_steps=2), model, log=logs.append,
                  dataset=synthetic_dataset)
  # no GPU here: the same XLA path on the CPU, announced as such
  assert any("building the XLA latency table (batch 4, float32; no GPU is visible" in line
             for line in logs), logs
  files = [f for f in os.listdir(cache_dir()) if f.endswith(".json")]  # and its .lock
  assert len(files) == 1 and files[0].startswith("xla-tensorflow-")
  assert "-b4-float32-tiny-" in files[0]
  table = json.load(open(os.path.join(cache_dir(), files[0])))
  meta = table["metadata"]
  assert meta["device"].startswith("xla: ") and meta["device"].endswith("(cpu)")
  assert (meta["target"], meta["batch_size"], meta["precision"]) == ("gpu", 4, "float32")
  assert meta["identity"]["backend"] == "tensorflow" and meta["identity"]["backend_version"]
  assert meta["canary"]["median_ms"] > 0 and meta["self_check"]["samples"] == 4
  ops = all_space_ops(run.space)
  assert sorted(table["entries"]) == sorted(op.key for op in ops)
  assert all(e["median"] > 0 and e["count"] == 5 * 30 for e in table["entries"].values())
  assert float(run.steps.expected_latency()) > 0
  result = run.run()
  assert result.predicted_latency > 0 and os.path.exists(result.arch_path)
  again = cost_model_for_target("gpu", precision="float32", batch_size=4, log=logs.append)
  again.prepare(run.space)  # cached: the quick check only
  assert any("reusing the XLA latency table" in line for line in logs), logs[-6:]
  assert any("networks measured now" in line for line in logs)
  assert len([f for f in os.listdir(cache_dir()) if f.endswith(".json")]) == 1


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_are_compiled_and_timed(dtype):
  from proxyless_tf.latency.ops import OpSpec
  from proxyless_tf.latency.xla import compile_op, compute_dtype, time_runner
  import keras
  op = OpSpec("expanded_conv", 8, 8, 16, 3, 6, 1, False)
  summary = time_runner(compile_op(op, 2, dtype), warmup=1, runs=3)
  assert summary["count"] == 3 and summary["median_ms"] > 0
  assert keras.config.dtype_policy().name == "float32"  # restored after the build
  with compute_dtype(dtype):
    from proxyless_tf.latency.op_models import op_model
    assert op_model(op).layers[-1].compute_dtype == dtype


def test_phone_gpu_tables_are_phone_gpu_not_gpu(tmp_path):
  """A table measured with a phone's GPU delegate before the rename (no "target" recorded) says
  so when loaded for --target=gpu, and still prices --target=phone_gpu."""
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.targets import cost_model_for_target
  from proxyless_tf.space.space import get_space
  space = get_space("tiny")
  path = tmp_path / "pixel_gpu.json"
  path.write_text(json.dumps({
      "metadata": {"device": "android: Pixel", "delegate": "gpu", "threads": 1,
                   "precision": "float", "space": "tiny", "estimated": False},
      "entries": {op.key: {"mean": 1.0} for op in all_space_ops(space)}}))
  with pytest.raises(UserError, match="phone's GPU delegate .* --target=phone_gpu now"):
    cost_model_for_target("gpu", str(path), log=lambda *_: None)
  model = cost_model_for_target("phone_gpu", str(path), log=lambda *_: None)
  assert model.predict(space.reference_arch()) > 0
  with pytest.raises(UserError, match="--target=phone_gpu needs --latency_table"):
    cost_model_for_target("phone_gpu")
  with pytest.raises(UserError, match="--precision=int8 is for the CPU and phone targets|"
                     "GPU latency is measured in float32"):
    cost_model_for_target("gpu", precision="int8")


def test_phone_gpu_build_over_fake_adb_records_its_target(tmp_path, monkeypatch):
  import fake_adb
  adb_dir = str(tmp_path / "adb")
  fake_adb.install(adb_dir, os.path.join(HERE, "data", "benchmark_model_gpu.txt"),
                   devices=("PHONE_A",))
  env = dict(os.environ, PATH=adb_dir + os.pathsep + os.environ["PATH"])
  out = tmp_path / "phone_gpu.json"
  proc = subprocess.run([sys.executable, "-m", "proxyless_tf.tools.build_latency_table", "--space=tiny",
                         "--device=android", "--use_gpu", "--runs=5", "--warmup=1",
                         f"--out={out}"], cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  meta = json.load(open(out))["metadata"]
  assert (meta["target"], meta["delegate"]) == ("phone_gpu", "gpu")
  runs = [c for c in fake_adb.calls(adb_dir) if len(c) == 4 and "--graph=" in c[3]]
  assert runs and all("--use_gpu=true" in c[3] for c in runs)


@pytest.mark.slow
def test_found_net_trains_under_jax_without_tensorflow_then_exports(tmp_path):
  """The JAX side runs in a process where TensorFlow cannot be imported (as on a GPU machine
  without it); this process, with TensorFlow, loads its weights and exports them."""
  pytest.importorskip("jax")
  worker = os.path.join(HERE, "jax_worker.py")
  env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, worker, str(tmp_path)], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads(proc.stdout.strip().splitlines()[-1])
  assert report["tensorflow_imported"] is False
  assert report["history_epochs"] == 1 and np.isfinite(report["loss"])
  assert report["table_ops"] == report["space_ops"] and report["table_backend"] == "jax"
  import keras
  from proxyless_tf.arch import load_arch
  from proxyless_tf import litert
  from proxyless_tf.export.tflite import convert_keras
  from proxyless_tf.model import build_model
  model = build_model(load_arch(str(tmp_path / "train" / "arch.json")))
  model.load_weights(str(tmp_path / "train" / "model.weights.h5"))
  saved = np.load(tmp_path / "logits.npz")
  logits = np.asarray(model(saved["x"], training=False))
  np.testing.assert_allclose(logits, saved["logits"], rtol=1e-5, atol=1e-5)
  interpreter = litert.make_interpreter(model_content=convert_keras(model, "float"))
  lite = litert.run(interpreter, saved["x"])
  np.testing.assert_allclose(lite, saved["logits"], rtol=1e-4, atol=1e-4)
  assert keras.backend.backend() == "tensorflow"


def test_phone_targets_estimate_a_table_for_shapes_their_table_lacks(tmp_path, monkeypatch):
  """`--target=mobile|phone_gpu --dataset=fashion_mnist_local`: the flag file's Pixel-1 table is
  for 224x224x3 and 1000 classes; a table estimated for the task's space stands in, announced;
  a table the user named is never replaced."""
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.targets import cost_model_for_target
  from proxyless_tf.space.space import get_space
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
  space = get_space("small").with_task(32, 1, 10)
  shipped = "tables/pixel1_estimated_proxyless_224.json"
  for target, table in (("mobile", shipped), ("phone_gpu", None)):
    logs = []
    model = cost_model_for_target(target, table, log=logs.append, estimate_uncovered=True)
    model.prepare(space)
    line = logs[-1]
    assert f"--target={target}:" in line and "ESTIMATED for it" in line and "32 px" in line
    assert ("not its GPU delegate" in line) == (target == "phone_gpu")
    assert all(model.op_cost(op) > 0 for op in all_space_ops(space))
    assert model.predict(space.reference_arch()) > 0
  covered = cost_model_for_target("mobile", shipped, log=lambda *_: None, estimate_uncovered=True)
  covered.prepare(get_space("proxyless"))  # the table's own shapes: kept, nothing estimated
  assert covered.table.path.endswith("pixel1_estimated_proxyless_224.json")
  named = cost_model_for_target("mobile", shipped, log=lambda *_: None)
  with pytest.raises(UserError, match="lacks .* op"):
    named.space_costs(space)
  with pytest.raises(UserError, match="estimate that stands in .* is float only"):
    cost_model_for_target("phone_gpu", None, precision="int8", log=lambda *_: None,
                          estimate_uncovered=True).prepare(space)
