import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fake_adb
from proxyless_tf.benchmark import benchmark_host, format_result
from proxyless_tf.benchmark.android import benchmark_android, parse_benchmark_output
from proxyless_tf.errors import UserError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")


@pytest.fixture(scope="module")
def small_tflite(tmp_path_factory):
  import keras
  from proxyless_tf.export.tflite import convert_keras
  inputs = keras.Input((16, 16, 3))
  x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
  model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
  path = str(tmp_path_factory.mktemp("bench") / "small.tflite")
  with open(path, "wb") as f:
    f.write(convert_keras(model, "float"))
  return path


def test_host_benchmark(small_tflite):
  result = benchmark_host(small_tflite, num_threads=2, warmup=2, runs=15)
  s = result.summary
  assert s["count"] == 15 and len(result.times_ms) == 15
  assert 0 < s["p10_ms"] <= s["median_ms"] <= s["p90_ms"]
  assert result.settings["num_threads"] == 2
  assert "median ms" in format_result(result)


def test_host_benchmark_missing_file(tmp_path):
  with pytest.raises(UserError, match="does not exist"):
    benchmark_host(str(tmp_path / "none.tflite"))


def test_parse_cpu_output():
  s = parse_benchmark_output(open(os.path.join(DATA, "benchmark_model_cpu.txt")).read())
  assert s["mean_ms"] == pytest.approx(14.5752)
  assert s["init_ms"] == pytest.approx(5.685) and s["first_ms"] == pytest.approx(18.535)
  assert s["count"] == 69 and s["std_ms"] == pytest.approx(0.090)  # the inference phase, not warmup
  assert s["median_ms"] is None  # this build prints no percentiles


def test_parse_scientific_prefixed_gpu_output():
  s = parse_benchmark_output(open(os.path.join(DATA, "benchmark_model_gpu.txt")).read(), "gpu")
  assert s["first_ms"] == pytest.approx(1357.6)
  assert s["mean_ms"] == pytest.approx(9.7905) and s["median_ms"] == pytest.approx(9.771)
  assert s["delegated_nodes"] == "66/66"


def test_gpu_fallback_and_garbage_are_errors():
  with pytest.raises(UserError, match="did not apply the gpu delegate"):
    parse_benchmark_output(open(os.path.join(DATA, "benchmark_model_gpu_fallback.txt")).read(), "gpu")
  with pytest.raises(UserError, match="could not find 'Inference timings"):
    parse_benchmark_output("Segmentation fault\n")


@pytest.fixture
def adb_dir(tmp_path, monkeypatch):
  directory = str(tmp_path / "adb")
  monkeypatch.setenv("PATH", directory + os.pathsep + os.environ["PATH"])
  return directory


def test_android_path_with_fake_adb(small_tflite, adb_dir, tmp_path):
  fake_adb.install(adb_dir, os.path.join(DATA, "benchmark_model_gpu.txt"))
  binary = tmp_path / "benchmark_model"
  binary.write_bytes(b"\x7fELF")
  result = benchmark_android(small_tflite, num_threads=4, warmup=3, runs=20, delegate="gpu",
                             benchmark_binary=str(binary))
  assert result.summary["mean_ms"] == pytest.approx(9.7905)
  assert result.device == "android: Pixel (msm8996)"
  calls = fake_adb.calls(adb_dir)
  assert calls[0] == ["devices"]
  assert ["-s", "FA7AB1A00123", "push", str(binary), "/data/local/tmp/benchmark_model"] in calls
  assert ["-s", "FA7AB1A00123", "shell", "chmod +x /data/local/tmp/benchmark_model"] in calls
  assert ["-s", "FA7AB1A00123", "push", small_tflite, "/data/local/tmp/small.tflite"] in calls
  run = [c for c in calls if len(c) == 4 and c[2] == "shell" and "--graph=" in c[3]]
  assert run == [["-s", "FA7AB1A00123", "shell",
                  "/data/local/tmp/benchmark_model --graph=/data/local/tmp/small.tflite "
                  "--num_threads=4 --num_runs=20 --warmup_runs=3 --use_gpu=true"]]


def test_android_errors(small_tflite, adb_dir, monkeypatch):
  fake_adb.install(adb_dir, os.path.join(DATA, "benchmark_model_cpu.txt"), devices=())
  with pytest.raises(UserError, match="no Android device attached"):
    benchmark_android(small_tflite)
  fake_adb.install(adb_dir, os.path.join(DATA, "benchmark_model_cpu.txt"), devices=("A", "B"))
  with pytest.raises(UserError, match="several devices attached"):
    benchmark_android(small_tflite)
  with pytest.raises(UserError, match="device C is not attached"):
    benchmark_android(small_tflite, serial="C")
  fake_adb.install(adb_dir, os.path.join(DATA, "benchmark_model_cpu.txt"), has_binary=False)
  with pytest.raises(UserError, match="benchmark_model is not on the phone"):
    benchmark_android(small_tflite)
  monkeypatch.setenv("PATH", "/nonexistent")
  with pytest.raises(UserError, match="adb not found on PATH"):
    benchmark_android(small_tflite)


@pytest.mark.slow
def test_benchmark_tool_cli(small_tflite, adb_dir, tmp_path):
  fake_adb.install(adb_dir, os.path.join(DATA, "benchmark_model_cpu.txt"))
  env = dict(os.environ)
  out_json = str(tmp_path / "r.json")
  proc = subprocess.run([sys.executable, "-m", "proxyless_tf.benchmark", small_tflite, "--adb",
                         "--runs=7", f"--json={out_json}"], capture_output=True, text=True,
                        cwd=ROOT, env=env)
  assert proc.returncode == 0, proc.stderr
  assert "14.575" in proc.stdout
  assert json.load(open(out_json))["settings"]["runs"] == 7
  # by default the phone runs what an app gets: XNNPACK on the CPU
  assert any("--use_xnnpack=true" in " ".join(c) for c in fake_adb.calls(adb_dir))
  assert not any("--use_xnnpack=false" in " ".join(c) for c in fake_adb.calls(adb_dir))
  proc = subprocess.run([sys.executable, "-m", "proxyless_tf.benchmark", small_tflite, "--use_gpu"],
                        capture_output=True, text=True, cwd=ROOT)
  assert proc.returncode == 2 and proc.stderr.strip().startswith("error: --use_gpu")
