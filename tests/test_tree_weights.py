"""Weights of the original PyramidTreeNet code in: logits equal PyTorch's in Keras and in float
TFLite, and int8 agrees with Keras (fixtures: tests/data/pytorch_tree, made by its make_fixtures.py
with torch and the original code; every edge kind, random weights and BN statistics)."""

import os

import numpy as np
import pytest

from proxyless_tf.arch import load_arch
from proxyless_tf.errors import UserError
from proxyless_tf.model import build_model
from proxyless_tf.model.pytorch_weights import load_pytorch_weights

DATA = os.path.join(os.path.dirname(__file__), "data", "pytorch_tree")
MOBILE = os.path.join(os.path.dirname(__file__), "data", "pytorch", "tiny_original.pth")


def _rel(got, want):
  return float(np.abs(np.asarray(got) - want).max() / np.abs(want).max())


@pytest.fixture(scope="module")
def loaded():
  config = load_arch(os.path.join(DATA, "tiny_tree.config"))
  model = build_model(config)
  assert load_pytorch_weights(model, config, os.path.join(DATA, "tiny_tree.pth")) == "tree"
  x = np.load(os.path.join(DATA, "inputs_nchw.npy")).transpose(0, 2, 3, 1)
  return config, model, x, np.load(os.path.join(DATA, "logits.npy"))


def test_keras_logits_equal_pytorch(loaded):
  _, model, x, want = loaded
  assert _rel(model(x, training=False), want) < 1e-4


def test_tflite_float_equals_pytorch_and_int8_agrees(loaded, tmp_path):
  from proxyless_tf import litert
  from proxyless_tf.export.pipeline import export_model
  _, model, x, want = loaded
  calibration = np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype(np.float32)
  results = export_model(model, str(tmp_path), ("float", "int8"), calibration, x,
                         log=lambda *_: None, input_kind="normalized")
  assert all(r.ok for r in results), [r.problem for r in results]
  interpreter = litert.make_interpreter(model_path=results[0].path)
  assert _rel(litert.run(interpreter, x), want) < 1e-4
  ops = {d["op_name"] for d in interpreter._get_ops_details()}
  # the tree ops as TFLite builtins: grouped conv, shuffle, split, dilated depthwise, pools
  assert {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE", "AVERAGE_POOL_2D", "MAX_POOL_2D"} <= ops
  assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops)


def test_a_mobilenet_checkpoint_is_refused_in_one_line(loaded):
  config, model, _, _ = loaded
  with pytest.raises(UserError, match="not the same network"):
    load_pytorch_weights(model, config, MOBILE)
