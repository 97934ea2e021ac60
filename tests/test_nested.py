"""Nested candidate weights: each candidate is exactly an MBConv cut from the shared kernels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.families.mbconv.layers import MBConv
from proxyless_tf.search.steps import SearchSteps
from proxyless_tf.space.space import get_space
from proxyless_tf.families.mbconv.space import Candidate
from proxyless_tf.supernet.mixed_op import MixedOp
from proxyless_tf.families.mbconv.supernet import Supernet

CANDS = [Candidate(3, 3), Candidate(5, 6), Candidate(7, 3), Candidate()]


def _batch(shape, seed=1):
  return tf.constant(np.random.default_rng(seed).standard_normal(shape), tf.float32)


@pytest.mark.parametrize("strides", [1, 2])
def test_each_candidate_is_the_mbconv_with_the_sliced_kernels(strides):
  keras.utils.set_random_seed(0)
  op = MixedOp(8, strides, CANDS, residual=strides == 1, weight_sharing="nested")
  op.build((None, 7, 7, 4))
  x = _batch((2, 7, 7, 4))
  nested = op.nested
  assert nested.depthwise_kernel.shape == (7, 7, 24, 1)  # max kernel, max expand (4 * 6)
  for j, c in enumerate(CANDS[:-1]):
    mid = 4 * c.expand_ratio
    start = (7 - c.kernel_size) // 2
    plain = MBConv(8, c.kernel_size, strides, c.expand_ratio, residual=False)
    plain.build((None, 7, 7, 4))
    plain.expand_conv.kernel.assign(nested.expand_kernel[..., :mid])
    plain.depthwise.kernel.assign(nested.depthwise_kernel[start:start + c.kernel_size,
                                                          start:start + c.kernel_size, :mid])
    plain.project.kernel.assign(nested.project_kernel[:, :, :mid])
    for bn, own in zip((plain.expand_bn, plain.depthwise_bn, plain.project_bn), nested.norms[j]):
      own.gamma.assign(np.random.default_rng(j).uniform(0.5, 1.5, own.gamma.shape))
      bn.gamma.assign(own.gamma)
    want = plain(x, training=True)
    np.testing.assert_allclose(op._run(j, x, training=True), want, rtol=1e-5, atol=1e-5)
  assert np.abs(op._run(3, x, training=True)).max() == 0  # zero stays zero


def test_weight_step_trains_shared_kernels_and_only_the_sampled_candidates_norms():
  keras.utils.set_random_seed(0)
  net = Supernet(get_space("tiny"), weight_sharing="nested")
  steps = SearchSteps(net, tf.random.Generator.from_seed(0))
  x, y = _batch((8, 16, 16, 1)), tf.constant(np.arange(8) % 10, tf.int32)
  for _ in range(4):
    before = {id(v): v.numpy().copy() for v in steps.weight_vars}
    steps.weight_step(x, y, 0.1, uniform=True)
    for op in net.mixed_ops:
      active = int(op.active.numpy())
      kernels = [op.nested.expand_kernel, op.nested.depthwise_kernel, op.nested.project_kernel]
      for v in kernels:
        moved = not np.array_equal(before[id(v)], v.numpy())
        assert moved == (op.ops[active] is not None), (op.name, active)
      for j, norms in enumerate(op.nested.norms):
        for v in (w for layer in norms for w in layer.trainable_variables):
          moved = not np.array_equal(before[id(v)], v.numpy())
          assert moved == (op.ops[active] == j), (op.name, active, j)
  assert set(steps.path_traces().values()) == {1}


def test_nested_full_v2_gradient_equals_full():
  keras.utils.set_random_seed(0)
  net = Supernet(get_space("tiny"), weight_sharing="nested")
  x, y = _batch((4, 16, 16, 1)), tf.constant([1, 2, 3, 4])
  net.set_active([1, 2, 0])
  grads = {mode: [g.numpy() for g in SearchSteps(net, tf.random.Generator.from_seed(0),
                                                 arch_mode=mode).arch_gradients(x, y)]
           for mode in ("full", "full_v2")}
  for a, b in zip(grads["full"], grads["full_v2"]):
    assert np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_nested_rejects_expand_one_in_one_line():
  with pytest.raises(UserError, match="expand ratios > 1"):
    MixedOp(8, 1, [Candidate(3, 1), Candidate(3, 6)], residual=False, weight_sharing="nested")
  with pytest.raises(UserError, match="weight_sharing"):
    MixedOp(8, 1, CANDS, residual=True, weight_sharing="shared")
