import os
import subprocess
import sys

import numpy as np
import pytest

from proxyless_tf.export import tflite, verify
from proxyless_tf.export.pipeline import export_model
from proxyless_tf.model import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def exported(tiny_arch, tmp_path_factory):
  out = str(tmp_path_factory.mktemp("export"))
  rng = np.random.default_rng(0)
  calibration = rng.standard_normal((32, 32, 32, 1)).astype(np.float32)
  check_inputs = rng.standard_normal((16, 32, 32, 1)).astype(np.float32)
  model = build_model(tiny_arch)
  tflite.set_bn_statistics(model, calibration)
  results = export_model(model, out, ("float", "dynamic", "int8"), calibration, check_inputs,
                         log=lambda *_: None)
  return out, model, results, check_inputs


def test_export_writes_all_modes_and_they_match(exported):
  out, _, results, _ = exported
  assert os.path.isdir(os.path.join(out, "saved_model"))
  by_mode = {r.mode: r for r in results}
  assert set(by_mode) == {"float", "dynamic", "int8"}
  assert all(r.ok for r in results), [r.problem for r in results]
  assert by_mode["float"].relative_diff <= verify.FLOAT_RELATIVE_TOLERANCE
  assert by_mode["int8"].size_bytes < by_mode["float"].size_bytes
  # BN statistics were set from data, so the untrained net's logits are not ~0 and int8 follows float
  assert by_mode["int8"].top1_agreement >= 0.5


def test_exported_models_take_raw_uint8_pixels(exported):
  """App-ready: every file takes uint8 pixels and normalizes inside; int8 outputs int8."""
  from proxyless_tf import litert
  out, model, results, _ = exported
  pixels = np.random.default_rng(5).integers(0, 256, (4, 32, 32, 1), dtype=np.uint8)
  want = model.predict(pixels.astype(np.float32) / 127.5 - 1.0, verbose=0)
  for r in results:
    interp = litert.make_interpreter(r.path)
    detail = interp.get_input_details()[0]
    assert detail["dtype"] == np.uint8 and detail["quantization"] == (0.0, 0), r.mode
    if r.mode == "float":
      got = []
      for p in pixels:
        interp.set_tensor(detail["index"], p[None])
        interp.invoke()
        got.append(interp.get_tensor(interp.get_output_details()[0]["index"])[0])
      np.testing.assert_allclose(np.stack(got), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
  int8 = [r for r in results if r.mode == "int8"][0]
  assert litert.make_interpreter(int8.path).get_output_details()[0]["dtype"] == np.int8


def test_normalized_input_export_keeps_int8_io(tiny_arch, tmp_path):
  from proxyless_tf import litert
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (16, 32, 32, 1)).astype(np.float32)
  model = build_model(tiny_arch)
  tflite.set_bn_statistics(model, x)
  results = export_model(model, str(tmp_path), ("int8",), x, x, log=lambda *_: None,
                         input_kind="normalized")
  interp = litert.make_interpreter(results[0].path)
  assert interp.get_input_details()[0]["dtype"] == np.int8
  assert interp.get_output_details()[0]["dtype"] == np.int8
  assert results[0].ok


def test_exported_signature_has_batch_one(exported):
  from proxyless_tf import litert
  _, _, results, _ = exported
  for r in results:
    assert list(litert.make_interpreter(r.path).get_input_details()[0]["shape_signature"]) == \
        [1, 32, 32, 1]


def test_check_fails_on_mismatch(exported):
  _, model, results, inputs = exported
  float_path = [r for r in results if r.mode == "float"][0].path
  reference = model.predict(inputs, verbose=0)
  bad = verify.check("float", float_path, reference * 1.01, inputs)
  assert not bad.ok and "differs from Keras" in bad.problem
  strict = verify.check("int8", [r for r in results if r.mode == "int8"][0].path, reference,
                        inputs, min_quantized_agreement=1.01)
  assert not strict.ok and "agreement" in strict.problem


def test_parse_modes():
  assert tflite.parse_modes("float, int8") == ("float", "int8")
  with pytest.raises(Exception, match="unknown mode"):
    tflite.parse_modes("float,fp16")


def test_set_bn_statistics_makes_outputs_nontrivial(tiny_arch):
  model = build_model(tiny_arch)
  x = np.random.default_rng(1).standard_normal((8, 32, 32, 1)).astype(np.float32)
  before = np.abs(model(x, training=False).numpy()).max()
  tflite.set_bn_statistics(model, x)
  after = np.abs(model(x, training=False).numpy()).max()
  assert after > 20 * before
  assert model.get_layer("stem").bn.momentum == 0.9  # restored


@pytest.mark.slow
def test_export_cli_bad_arch_is_one_line(tmp_path):
  proc = subprocess.run([sys.executable, "-m", "proxyless_tf.export", "--arch=nope",
                         f"--out={tmp_path}"], capture_output=True, text=True, cwd=ROOT)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1].startswith("error: 'nope' is neither a known network")
