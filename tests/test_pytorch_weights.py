"""PyTorch weights in: the original code's and pytorchcv's checkpoints, read without torch.

Fixtures (tests/data/pytorch, made by its make_fixtures.py with torch, the original ProxylessNAS
code and pytorchcv): a tiny net with every block kind, random weights and BN statistics, saved in
torch's legacy format (original, as the released checkpoints) and zip format (pytorchcv), with
PyTorch's logits on 4 inputs.
"""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from proxyless_tf.arch import load_arch
from proxyless_tf.errors import UserError
from proxyless_tf.model import build_model
from proxyless_tf.model.pytorch_weights import load_pytorch_weights
from proxyless_tf.model.torch_checkpoint import read_state_dict

DATA = os.path.join(os.path.dirname(__file__), "data", "pytorch")
SCHEMES = ("original", "pytorchcv")


def _tiny():
  return load_arch(os.path.join(DATA, "tiny.net.config")).with_io(input_size=32)


def _inputs():
  return np.load(os.path.join(DATA, "inputs_nchw.npy")).transpose(0, 2, 3, 1)  # -> NHWC


def _rel(got, want):
  return float(np.abs(np.asarray(got) - want).max() / np.abs(want).max())


@pytest.mark.parametrize("scheme", SCHEMES)
def test_checkpoint_logits_equal_pytorch(scheme):
  config = _tiny()
  assert config.padding == "symmetric"
  model = build_model(config)
  found = load_pytorch_weights(model, config, os.path.join(DATA, f"tiny_{scheme}.pth"))
  assert found == scheme
  want = np.load(os.path.join(DATA, f"logits_{scheme}.npy"))
  assert _rel(model(_inputs(), training=False), want) < 1e-4
  # the same weights under TensorFlow's padding give other outputs: padding is what matters
  same = build_model(config.replace(padding="same"))
  same.set_weights(model.get_weights())
  assert _rel(same(_inputs(), training=False), want) > 1e-3


def test_tflite_export_equals_pytorch(tmp_path):
  """checkpoint -> Keras -> SavedModel -> float .tflite (7x7 depthwise split for XNNPACK)."""
  from proxyless_tf import litert
  from proxyless_tf.export.pipeline import export_model
  config = _tiny()
  model = build_model(config)
  load_pytorch_weights(model, config, os.path.join(DATA, "tiny_original.pth"))
  x = _inputs()
  results = export_model(model, str(tmp_path), ("float",), x, x, log=lambda *_: None,
                         input_kind="normalized")  # PyTorch nets take mean/std-normalized input
  assert results[0].ok, results[0].problem
  got = litert.run(litert.make_interpreter(model_path=results[0].path), x)
  assert _rel(got, np.load(os.path.join(DATA, "logits_original.npy"))) < 1e-4


def test_both_torch_formats_read_the_same_tensors():
  legacy = read_state_dict(os.path.join(DATA, "tiny_original.pth"))  # {'state_dict': ...}
  assert "first_conv.conv.weight" in legacy
  assert legacy["first_conv.conv.weight"].shape == (16, 3, 3, 3)
  assert legacy["blocks.4.mobile_inverted_conv.depth_conv.conv.weight"].shape == (72, 1, 7, 7)
  assert not any(k.startswith("blocks.3.") for k in legacy)  # the zero block has no weights
  zipped = read_state_dict(os.path.join(DATA, "tiny_pytorchcv.pth"))
  assert zipped["features.stage3.unit1.body.dw_conv.conv.weight"].shape == (72, 1, 7, 7)
  assert all(v.dtype in (np.float32, np.int64) for v in zipped.values())
  # same parameter count in both (the two codes build the same net)
  count = lambda s: sum(v.size for k, v in s.items() if "running" not in k and "num_batches" not in k)  # noqa: E731,E501
  assert count(legacy) == count(zipped) == 41778


def test_mismatch_is_one_line_naming_the_tensor():
  config = _tiny()
  blocks = list(config.blocks)
  blocks[4] = blocks[4].__class__(filters=32, stride=2, kernel_size=5, expand_ratio=3)
  wrong = config.replace(blocks=tuple(blocks))
  with pytest.raises(UserError, match=r"blocks\.4\.mobile_inverted_conv\.depth_conv\.conv\.weight: "
                     r"expected shape \(72, 1, 5, 5\).*got \(72, 1, 7, 7\)"):
    load_pytorch_weights(build_model(wrong), wrong, os.path.join(DATA, "tiny_original.pth"))
  with pytest.raises(UserError, match="padding 'same'"):
    same = config.replace(padding="same")
    load_pytorch_weights(build_model(same), same, os.path.join(DATA, "tiny_original.pth"))
  state = read_state_dict(os.path.join(DATA, "tiny_pytorchcv.pth"))
  state["extra.weight"] = np.zeros(3, np.float32)
  with pytest.raises(UserError, match="1 tensor.*does not use.*extra.weight"):
    load_pytorch_weights(build_model(config), config, state)


def test_bad_checkpoints_are_clean_errors_and_never_run_code(tmp_path):
  marker = tmp_path / "pwned"

  class Evil:
    def __reduce__(self):
      return (os.system, (f"touch {marker}",))

  evil = tmp_path / "evil.pth"
  evil.write_bytes(pickle.dumps({"state_dict": Evil()}))
  evil_legacy = tmp_path / "evil_legacy.pth"  # a valid legacy header, then the payload
  evil_legacy.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C) + pickle.dumps(1001)
                          + pickle.dumps({"little_endian": True}) + pickle.dumps(Evil()))
  truncated = tmp_path / "truncated.pth"
  truncated.write_bytes(open(os.path.join(DATA, "tiny_original.pth"), "rb").read()[:5000])
  garbage = tmp_path / "garbage.pth"
  garbage.write_bytes(b"\x00\xff" * 100)
  for path in (evil, evil_legacy, truncated, garbage, tmp_path / "missing.pth"):
    with pytest.raises(UserError):
      read_state_dict(str(path))
  assert not marker.exists()


@pytest.mark.slow
def test_export_cli_takes_a_pytorch_checkpoint(tmp_path):
  out = tmp_path / "export"
  result = subprocess.run(
      [sys.executable, "-m", "proxyless_tf.export", f"--arch={DATA}/tiny.net.config",
       "--input_size=32", f"--checkpoint={DATA}/tiny_pytorchcv.pth", f"--out={out}",
       "--quantize=float", "--check_samples=4", "--calibration_samples=4"],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  from proxyless_tf import litert
  interpreter = litert.make_interpreter(model_path=str(next(out.glob("*float.tflite"))))
  want = np.load(os.path.join(DATA, "logits_pytorchcv.npy"))[:1]
  assert _rel(litert.run(interpreter, _inputs()[:1]), want) < 1e-4
