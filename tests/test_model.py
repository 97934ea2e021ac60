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
