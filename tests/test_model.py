import math

import keras
import numpy as np

from proxyless_tf.model import MBConv, arch_from_model, build_model


def test_config_model_config_round_trip(tiny_arch):
  model = build_model(tiny_arch)
  assert arch_from_model(model) == tiny_arch
  restored = keras.Model.from_config(model.get_config())
  assert arch_from_model(restored) == tiny_arch
  restored.set_weights(model.get_weights())
  x = np.random.default_rng(0).standard_normal((3, 32, 32, 1)).astype(np.float32)
  np.testing.assert_allclose(restored(x, training=False), model(x, training=False), atol=1e-6)


def test_keras_file_round_trip(tiny_arch, tmp_path):
  model = build_model(tiny_arch)
  path = str(tmp_path / "m.keras")
  model.save(path)
  loaded = keras.saving.load_model(path)
  assert arch_from_model(loaded) == tiny_arch
  x = np.ones((1, 32, 32, 1), np.float32)
  np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_block_structure_and_residual(tiny_arch):
  model = build_model(tiny_arch)
  b0, b1, b2 = (model.get_layer(f"block_{i}") for i in range(3))
  assert b0.expand_conv is None  # expand ratio 1 has no expand conv
  assert b1.expand_conv is not None and not b1.use_residual  # stride 2
  assert b2.use_residual
  assert b2.depthwise.kernel_size == (3, 3) and b1.depthwise.kernel_size == (5, 5)
  bn = b2.project_bn
  assert bn.momentum == 0.9 and bn.epsilon == 1e-3
  assert model.get_layer("block_3").count_params() == 0  # zero block


def test_initializers_follow_original_code():
  keras.utils.set_random_seed(0)
  layer = MBConv(64, kernel_size=5, strides=1, expand_ratio=6)
  layer.build((None, 14, 14, 64))
  mid = 64 * 6
  dw = layer.depthwise.kernel.numpy()
  assert abs(dw.std() - math.sqrt(2 / (25 * mid))) / math.sqrt(2 / (25 * mid)) < 0.05
  expand = layer.expand_conv.kernel.numpy()
  assert abs(expand.std() - math.sqrt(2 / mid)) / math.sqrt(2 / mid) < 0.05
  model = build_model(__import__("proxyless_tf.arch", fromlist=["x"]).get_preset("mobilenet_v2"))
  dense = model.get_layer("classifier").kernel.numpy()
  assert np.abs(dense).max() <= 1 / math.sqrt(1280) + 1e-7
  assert np.abs(dense).max() > 0.9 / math.sqrt(1280)
  assert np.all(model.get_layer("classifier").bias.numpy() == 0)


def _numpy_conv(x, kernel, stride, pads, depthwise=False):
  """Direct cross-correlation reference: x (H, W, C), kernel (k, k, C, out|1), zero pads
  ((top, bottom), (left, right))."""
  x = np.pad(x, (*pads, (0, 0)))
  k = kernel.shape[0]
  rows = (x.shape[0] - k) // stride + 1
  cols = (x.shape[1] - k) // stride + 1
  out = np.zeros((rows, cols, x.shape[2] if depthwise else kernel.shape[3]))
  for i in range(rows):
    for j in range(cols):
      window = x[i * stride:i * stride + k, j * stride:j * stride + k]
      if depthwise:
        out[i, j] = (window * kernel[..., 0]).sum(axis=(0, 1))
      else:
        out[i, j] = np.tensordot(window, kernel, axes=3)
  return out


def test_padding_modes_against_numpy_reference():
  """Stride-2 convs on an even input: "same" pads (0, 1) for k3 and (2, 3) for k7 (TensorFlow),
  "symmetric" pads k // 2 on both sides (PyTorch); checked on the stem conv and on the depthwise
  conv of an MBConv, plain and in its split (XNNPACK) form."""
  from proxyless_tf.model.layers import SplitDepthwiseConv2D
  from proxyless_tf.families.mbconv.layers import ConvBNReLU
  rng = np.random.default_rng(0)
  x = rng.standard_normal((1, 8, 8, 3)).astype(np.float32)
  for padding, pads in (("same", {3: (0, 1), 7: (2, 3)}), ("symmetric", {3: (1, 1), 7: (3, 3)})):
    for k in (3, 7):
      bn = 1 / np.sqrt(1 + 1e-3)  # a fresh BatchNormalization at inference
      stem = ConvBNReLU(4, k, 2, padding=padding)
      stem.build(x.shape)
      want = np.clip(_numpy_conv(x[0], stem.conv.kernel.numpy(), 2, (pads[k], pads[k])) * bn, 0, 6)
      np.testing.assert_allclose(stem(x, training=False)[0], want, atol=1e-5,
                                 err_msg=f"{padding} k{k} stem")

      block = MBConv(4, k, 2, expand_ratio=1, padding=padding)
      block.build(x.shape)
      dw = block.depthwise.kernel.numpy()
      want = _numpy_conv(x[0], dw, 2, (pads[k], pads[k]), depthwise=True)
      projected = np.tensordot(np.clip(want * bn, 0, 6), block.project.kernel.numpy()[0, 0],
                               axes=1) * bn
      np.testing.assert_allclose(block(x, training=False)[0], projected, atol=1e-5,
                                 err_msg=f"{padding} k{k} MBConv")

      split = SplitDepthwiseConv2D(k, 2, max_taps=9, padding=padding)
      split.build(x.shape)
      split.kernel.assign(dw)
      np.testing.assert_allclose(split(x)[0], want, atol=1e-5, err_msg=f"{padding} k{k} split")


def test_symmetric_padding_round_trips_and_changes_only_strided_convs(tiny_arch):
  from proxyless_tf.families.mbconv.config import from_dict
  sym = tiny_arch.replace(padding="symmetric")
  assert from_dict(sym.to_dict()) == sym
  model = build_model(sym)
  assert arch_from_model(keras.Model.from_config(model.get_config())) == sym
  same = build_model(tiny_arch)
  same.set_weights(model.get_weights())
  x = np.random.default_rng(1).standard_normal((2, 32, 32, 1)).astype(np.float32)
  assert np.abs(np.asarray(model(x)) - np.asarray(same(x))).max() > 1e-4
  # the split (export) form keeps the convention
  from proxyless_tf.export.depthwise_split import split_large_depthwise
  split = split_large_depthwise(model, 25)
  assert split.get_layer("block_4").depthwise.padding == "symmetric"
  np.testing.assert_allclose(split(x), model(x), atol=1e-4)


def test_training_batch_norm_equals_keras_on_both_kernels():
  """`model.batch_norm` (the fused kernel, or moments + the fused gradient where the channel count
  is not a multiple of the vector width) normalises, differentiates and updates the moving
  statistics as Keras's own layer does."""
  import tensorflow as tf
  from proxyless_tf.model import batch_norm as bn_module
  rng = np.random.default_rng(0)
  for channels in (32, 20):  # a multiple of any vector width; a multiple of none
    x = tf.constant(rng.normal(1.0, 3.0, (4, 6, 6, channels)), tf.float32)
    dy = tf.constant(rng.normal(size=(4, 6, 6, channels)), tf.float32)
    results = []
    for fused in (False, True):
      layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
      layer.build(x.shape)
      layer.gamma.assign(rng.uniform(0.5, 1.5, channels).astype("float32") if not results else
                         results[0][4])
      with tf.GradientTape() as tape:
        tape.watch(x)
        y = bn_module.batch_norm(layer, x, True) if fused else layer(x, training=True)
      grads = tape.gradient(y, [x, layer.gamma, layer.beta], output_gradients=dy)
      results.append([y.numpy()] + [g.numpy() for g in grads] + [layer.gamma.numpy(),
                      layer.moving_mean.numpy(), layer.moving_variance.numpy()])
    if bn_module._vector_width() > 1:  # on a CPU the two channel counts take the two kernels
      assert (channels % bn_module._vector_width() == 0) == (channels == 32)
    for keras_value, ours in zip(*results):
      np.testing.assert_allclose(ours, keras_value, rtol=1e-4, atol=1e-4)
