"""The XNNPACK rewrite: large depthwise convs as <= 25-tap pieces compute the same function."""

import numpy as np
import pytest

from proxyless_tf import litert
from proxyless_tf.export import tflite
from proxyless_tf.export.depthwise_split import XNNPACK_MAX_TAPS, split_large_depthwise
from proxyless_tf.model import build_model
from proxyless_tf.model.layers import SplitDepthwiseConv2D, row_pieces


@pytest.mark.parametrize("kernel,stride,size", [(7, 1, 14), (7, 2, 14), (7, 2, 15), (6, 1, 12),
                                                (6, 2, 13), (9, 1, 11), (9, 2, 16), (5, 2, 10)])
def test_split_depthwise_equals_depthwise_conv(kernel, stride, size):
  import keras
  rng = np.random.default_rng(kernel * 100 + stride * 10 + size)
  x = rng.standard_normal((2, size, size, 5)).astype(np.float32)
  whole = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=True)
  expected = whole(x)
  whole.set_weights([rng.standard_normal(w.shape).astype(np.float32)
                     for w in whole.get_weights()])
  expected = whole(x).numpy()
  split = SplitDepthwiseConv2D(kernel, stride, XNNPACK_MAX_TAPS)
  split(x)
  split.set_weights(whole.get_weights())
  got = split(x).numpy()
  assert got.shape == expected.shape
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_row_pieces_cover_the_kernel_within_the_tap_limit():
  for kernel in range(1, 16):
    pieces = row_pieces(kernel, 25)
    assert sum(rows for _, rows in pieces) == kernel
    assert [first for first, _ in pieces] == list(np.cumsum([0] + [r for _, r in pieces])[:-1])
    assert all(rows * kernel <= 25 for _, rows in pieces) or kernel > 25
  assert row_pieces(7, 25) == [(0, 3), (3, 3), (6, 1)]


def _depthwise_taps(interpreter) -> list[int]:
  """kh*kw of every DEPTHWISE_CONV_2D's weights in a converted model."""
  tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
  taps = []
  for op in interpreter._get_ops_details():
    if op["op_name"] == "DEPTHWISE_CONV_2D":
      shape = tensors[op["inputs"][1]]["shape"]  # (1, kh, kw, channels)
      taps.append(int(shape[1] * shape[2]))
  return taps


@pytest.fixture(scope="module")
def k7_model(tiny_arch):
  import keras
  keras.utils.set_random_seed(0)  # an untrained net: its int8 agreement depends on the draw
  model = build_model(tiny_arch)  # has a k7 block (stride 2) and k3/k5 blocks
  calibration = np.random.default_rng(0).standard_normal((32, 32, 32, 1)).astype(np.float32)
  tflite.set_bn_statistics(model, calibration)
  return model, calibration


def test_rewritten_model_equals_original_and_runs_only_small_kernels(k7_model):
  model, calibration = k7_model
  rewritten = split_large_depthwise(model)
  assert rewritten is not model
  x = calibration[:8]
  expected = model(x).numpy()
  np.testing.assert_allclose(rewritten(x).numpy(), expected, rtol=0,
                             atol=1e-5 * np.abs(expected).max())
  plain = litert.make_interpreter(model_content=tflite.convert_keras(model, "float"))
  split = litert.make_interpreter(model_content=tflite.convert_keras(rewritten, "float"))
  assert max(_depthwise_taps(plain)) == 49
  assert max(_depthwise_taps(split)) <= XNNPACK_MAX_TAPS
  assert len(_depthwise_taps(split)) == len(_depthwise_taps(plain)) + 2  # 7 rows: 3 + 3 + 1
  out = litert.run(split, x)
  assert np.abs(out - expected).max() <= 1e-4 * np.abs(expected).max()


def test_rewrite_leaves_small_kernels_alone(k7_model):
  model, _ = k7_model
  assert split_large_depthwise(model, max_taps=49) is model


def test_int8_pieces_agree_with_the_unsplit_int8_model(k7_model):
  """The pieces are quantized separately (own output scales, requantized adds): the int8 split
  model must still pick the same class as the unsplit int8 model and as Keras."""
  model, calibration = k7_model
  rng = np.random.default_rng(5)
  inputs = rng.standard_normal((200, 32, 32, 1)).astype(np.float32)
  representative = tflite.representative_from_batch(calibration)
  reference = np.argmax(model.predict(inputs, verbose=0), -1)
  plain = litert.run(litert.make_interpreter(model_content=tflite.convert_for_timing(
      model, "int8", max_depthwise_taps=None)), inputs)
  split = litert.run(litert.make_interpreter(model_content=tflite.convert_keras(
      split_large_depthwise(model), "int8", representative)), inputs)
  plain_vs_keras = np.mean(np.argmax(plain, -1) == reference)
  split_vs_keras = np.mean(np.argmax(split, -1) == reference)
  assert split_vs_keras >= plain_vs_keras - 0.03, (split_vs_keras, plain_vs_keras)
  # on random nets int8 flips close calls either way (on a trained net: 99.2%, BENCHMARKS.md)
  assert np.mean(np.argmax(split, -1) == np.argmax(plain, -1)) >= 0.9


def test_tree_nets_split_their_large_separable_edges_to_the_same_function():
  """Tree cells' 7x7 separable edges (no BN after the depthwise) and a strided one (PyTorch's
  symmetric padding) run as <= 25-tap pieces; dilated kernels and everything else stay as is."""
  import keras
  from proxyless_tf.families.pyramid_tree.presets import pyramid_tree_net
  from proxyless_tf.families.pyramid_tree.layers import PreActOp
  arch = pyramid_tree_net([["sep_7x7", "sep_3x3_d2"]] * 3, "k7_tree", blocks_per_stage=1, start=8,
                          alpha=8, depth=1, input_size=16, input_channels=1)
  keras.utils.set_random_seed(1)
  model = build_model(arch)
  x = np.random.default_rng(1).standard_normal((4, 16, 16, 1)).astype(np.float32)
  tflite.set_bn_statistics(model, x)
  rewritten = split_large_depthwise(model)
  expected = model(x).numpy()
  np.testing.assert_allclose(rewritten(x).numpy(), expected, rtol=0,
                             atol=1e-5 * np.abs(expected).max())
  plain = _depthwise_taps(litert.make_interpreter(model_content=tflite.convert_keras(model,
                                                                                     "float")))
  split = _depthwise_taps(litert.make_interpreter(model_content=tflite.convert_keras(rewritten,
                                                                                     "float")))
  sevens = plain.count(49)
  assert sevens > 0 and max(split) <= XNNPACK_MAX_TAPS
  assert len(split) == len(plain) + 2 * sevens and split.count(9) == plain.count(9) > 0
  for stride in (1, 2):
    inputs = keras.Input((15, 15, 6))
    edge = keras.Model(inputs, PreActOp("sep_7x7", 8, stride, name="edge")(inputs))
    tflite.set_bn_statistics(edge, x[:, :15, :15].repeat(6, -1))
    got = split_large_depthwise(edge)
    y = np.random.default_rng(stride).standard_normal((2, 15, 15, 6)).astype(np.float32)
    want = edge(y).numpy()
    np.testing.assert_allclose(got(y).numpy(), want, rtol=0, atol=1e-5 * np.abs(want).max())
