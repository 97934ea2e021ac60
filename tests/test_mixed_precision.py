"""Mixed precision search steps: float16/bfloat16 compute, float32 variables and arch logits,
dynamic loss scaling that skips a non-finite float16 step."""

import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
from proxyless_tf.search.steps import ArchObjective, SearchSteps
from proxyless_tf.space.space import get_space
from proxyless_tf.families.mbconv.supernet import Supernet
from proxyless_tf.utils.precision import dtype_policy


def _steps(policy, mode="full_v2"):
  space = get_space("tiny").with_task(16, 1, 10)
  with dtype_policy(policy):
    net = Supernet(space, weight_sharing="nested")
  import keras
  assert keras.config.dtype_policy().name == "float32"  # the process-wide policy is restored
  objective = ArchObjective(ExpectedCost(FlopsCostModel(), space), 0.1, "add_linear")
  return net, SearchSteps(net, tf.random.Generator.from_seed(0), mode, objective, arch_lr=0.05,
                          loss_scale=policy == "mixed_float16")


def _batch():
  rng = np.random.default_rng(0)
  return (rng.normal(size=(8, 16, 16, 1)).astype("float32"),
          rng.integers(0, 10, 8).astype("int32"))


@pytest.mark.parametrize("policy,compute", [("mixed_float16", "float16"),
                                            ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_steps_keep_variables_and_alpha_float32(policy, compute):
  net, steps = _steps(policy)
  x, y = _batch()
  assert net.stem.compute_dtype == compute
  assert {v.dtype for v in net.weights} <= {"float32", "int32"}
  before = [v.numpy().copy() for v in net.weight_variables]
  loss, _ = steps.weight_step(x, y, 0.1)
  assert np.isfinite(float(loss))
  assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, net.weight_variables))
  for mode in ("full_v2", "two", "full"):
    steps.set_arch_mode(mode)
    loss, _, _, latency = steps.arch_step(x, y)
    assert np.isfinite(float(loss)) and latency.dtype == tf.float32
  assert max(float(np.abs(a.numpy()).max()) for a in net.arch_variables) > 0.01
  assert all(a.dtype == "float32" for a in net.arch_variables)
  assert (steps.loss_scale is not None) == (policy == "mixed_float16")


def test_float16_overflow_skips_the_step_and_halves_the_scale():
  net, steps = _steps("mixed_float16")
  x, y = _batch()
  steps.weight_step(x, y, 0.1)
  assert float(steps.loss_scale.scale.numpy()) == 2.0**15  # a finite step keeps it
  steps.loss_scale.scale.assign(3e38)  # loss * scale overflows: gradients are inf
  before = [v.numpy().copy() for v in net.weight_variables]
  steps.weight_step(x, y, 0.1)
  assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, net.weight_variables))
  assert float(steps.loss_scale.scale.numpy()) == pytest.approx(1.5e38)
  alpha = [a.numpy().copy() for a in net.arch_variables]
  steps.loss_scale.scale.assign(3e38)
  steps.arch_step(x, y)
  assert all(np.array_equal(b, a.numpy()) for b, a in zip(alpha, net.arch_variables))
  steps.loss_scale.scale.assign(2.0**10)
  steps.weight_step(x, y, 0.1)
  assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, net.weight_variables))
