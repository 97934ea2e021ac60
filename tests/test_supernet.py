"""The mixed op's estimators: no retrace, single-path updates, gate gradients, two-path rescale."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from proxyless_tf.search.steps import SearchSteps
from proxyless_tf.space.space import get_space
from proxyless_tf.families.mbconv.space import Candidate
from proxyless_tf.supernet.mixed_op import MixedOp, gate_grad_to_alpha
from proxyless_tf.families.mbconv.supernet import Supernet

CANDS = [Candidate(3, 3), Candidate(5, 6), Candidate(7, 3), Candidate()]


def _op(seed=0):
  keras.utils.set_random_seed(seed)
  op = MixedOp(8, 1, CANDS, residual=True)
  op.build((None, 6, 6, 8))
  op.alpha.assign([0.3, -0.2, 0.5, 0.1])
  return op


def _batch(shape=(4, 6, 6, 8), seed=1):
  return tf.constant(np.random.default_rng(seed).standard_normal(shape), tf.float32)


def test_gate_formula_matches_softmax_jacobian():
  alpha = tf.constant([0.3, -1.0, 0.7])
  dg = tf.constant([1.5, -2.0, 0.25])
  probs = tf.nn.softmax(alpha)
  jac = tf.linalg.diag(probs) - probs[:, None] * probs[None, :]  # d p_j / d alpha_i (symmetric)
  np.testing.assert_allclose(gate_grad_to_alpha(dg, probs), tf.linalg.matvec(jac, dg * 1.0),
                             rtol=1e-6)


@pytest.mark.parametrize("mode", ["full_v2", "full"])
def test_estimator_equals_gradient_of_expected_loss_for_linear_loss(mode):
  """With L linear in the output, dL/dg_j = L_j, so the estimator must equal d/dalpha sum_j p_j L_j,
  whichever path is active."""
  op = _op()
  x = _batch()
  w = _batch(seed=2)
  outs = [op._run(j, x, training=False) for j in range(len(CANDS))]
  losses = tf.stack([tf.reduce_sum(w * (o + x)) for o in outs])
  with tf.GradientTape() as tape:
    expected = tf.reduce_sum(tf.nn.softmax(op.alpha) * losses)
  want = tape.gradient(expected, op.alpha.value)
  for active in range(len(CANDS)):
    op.active.assign(active)
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(w * op(x, training=False, mode=mode))
    got = tape.gradient(loss, op.alpha.value)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_two_mode_gradient_uses_only_the_pair():
  op = _op()
  x, w = _batch(), _batch(seed=2)
  pair = [0, 2]
  op.pair.assign(pair)
  op.active.assign(2)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(w * op(x, training=False, mode="two"))
  got = tape.gradient(loss, op.alpha.value).numpy()
  losses = np.array([float(tf.reduce_sum(w * op._run(j, x, training=False))) for j in pair])
  p = tf.nn.softmax(tf.gather(op.alpha, pair)).numpy()
  want = losses * p - p * np.sum(losses * p)
  np.testing.assert_allclose(got[pair], want, rtol=1e-4)
  assert got[1] == 0 and got[3] == 0


def test_full_and_full_v2_agree_on_the_same_sample():
  keras.utils.set_random_seed(0)
  net = Supernet(get_space("tiny"))
  x = _batch((4, 16, 16, 1))
  y = tf.constant([1, 2, 3, 4])
  grads = {}
  state = [v.numpy() for v in net.non_trainable_variables]
  for mode in ("full", "full_v2"):
    for v, s in zip(net.non_trainable_variables, state):
      v.assign(s)
    net.set_active([1, 2, 0])
    steps = SearchSteps(net, tf.random.Generator.from_seed(0), arch_mode=mode)
    grads[mode] = [g.numpy() for g in steps.arch_gradients(x, y)]
  for a, b in zip(grads["full"], grads["full_v2"]):
    assert np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_frozen_shared_call_gives_the_same_input_gradient_and_no_weight_gradient():
  """The arch step's paths run `frozen`: the backward skips the weights, dx is unchanged."""
  from proxyless_tf.model.shared_call import call_shared
  layer = Candidate(5, 3).layer(8, 1, name="frozen_probe")
  x = _batch((2, 6, 6, 8))
  layer.build(x.shape)
  results = []
  for frozen in (False, True):
    with tf.GradientTape() as tape:
      tape.watch(x)
      loss = tf.reduce_sum(tf.square(call_shared(layer, x, True, frozen)))
    results.append(tape.gradient(loss, [x] + layer.trainable_variables))
  assert all(g is not None for g in results[0])
  assert all(g is None for g in results[1][1:])
  np.testing.assert_allclose(results[1][0].numpy(), results[0][0].numpy(), rtol=1e-5, atol=1e-6)


def test_rescale_keeps_unsampled_probabilities():
  op = _op()
  op.pair.assign([1, 3])
  old = tf.identity(op.alpha)
  before = tf.nn.softmax(old).numpy()
  op.alpha.assign(old + tf.constant([0.0, 0.4, 0.0, -0.1]))  # what an optimizer step might do
  op.rescale_pair(old)
  after = tf.nn.softmax(op.alpha).numpy()
  np.testing.assert_allclose(after[[0, 2]], before[[0, 2]], rtol=1e-6)
  assert after[1] > before[1] and after[3] < before[3]
  np.testing.assert_allclose(after[1] + after[3], before[1] + before[3], rtol=1e-6)


@pytest.fixture(scope="module")
def tiny_steps():
  keras.utils.set_random_seed(0)
  net = Supernet(get_space("tiny"))
  return net, SearchSteps(net, tf.random.Generator.from_seed(3), arch_mode="two",
                          label_smoothing=0.1)


def test_no_retrace_and_only_sampled_paths_move(tiny_steps):
  net, steps = tiny_steps
  x, y = _batch((8, 16, 16, 1)), tf.constant(np.arange(8) % 10, tf.int32)
  seen = set()
  for i in range(6):
    before = {id(v): v.numpy().copy() for v in steps.weight_vars}
    slots_before = [s.numpy().copy() for s in steps.weight_opt.slots]
    steps.weight_step(x, y, 0.1)
    active = [int(op.active.numpy()) for op in net.mixed_ops]
    seen.add(tuple(active))
    for op, a in zip(net.mixed_ops, active):
      for j, variables in enumerate(op.candidate_variables()):
        for v in variables:
          moved = not np.array_equal(before[id(v)], v.numpy())
          assert moved == (j == a), (op.name, j, a, v.path)
    index = {id(v): i for i, v in enumerate(steps.weight_vars)}
    for op, a in zip(net.mixed_ops, active):
      for j, variables in enumerate(op.candidate_variables()):
        for v in variables:
          slot = steps.weight_opt.slots[index[id(v)]].numpy()
          frozen = np.array_equal(slot, slots_before[index[id(v)]])
          assert frozen == (j != a), (op.name, j, a, v.path)  # momentum frozen too
    shared = net.classifier.kernel
    assert not np.array_equal(before[id(shared)], shared.numpy())
  assert len(seen) > 1  # the sample changed ...
  traces = steps.path_traces()
  assert traces and set(traces.values()) == {1}  # ... without retracing what was built
  built = set(traces)
  for _ in range(3):
    steps.arch_step(x, y)
  assert set(steps.path_traces().values()) == {1}
  # only what was sampled is built: never more functions than (op, candidate) pairs run
  assert built <= set(steps.path_traces())


def test_two_mode_arch_step_keeps_unsampled_probabilities(tiny_steps):
  net, steps = tiny_steps
  x, y = _batch((8, 16, 16, 1)), tf.constant(np.arange(8) % 10, tf.int32)
  for _ in range(5):
    before = [tf.nn.softmax(op.alpha).numpy() for op in net.mixed_ops]
    steps.arch_step(x, y)
    for op, p in zip(net.mixed_ops, before):
      after = tf.nn.softmax(op.alpha).numpy()
      pair = set(op.pair.numpy().tolist())
      others = [j for j in range(op.num_candidates) if j not in pair]
      np.testing.assert_allclose(after[others], p[others], rtol=1e-5)
      if int(op.active.numpy()) == op.zero_index:
        np.testing.assert_allclose(after, p, rtol=1e-6)  # zero sampled: no update


@pytest.mark.parametrize("form", ["add_linear", "mul_log"])
def test_two_mode_with_a_latency_loss_keeps_unsampled_probabilities(form):
  """The latency term, too, is over the sampled pair only (the original's two mode): with the
  softmax over all candidates every unsampled logit would get a latency gradient and move."""
  from proxyless_tf.latency.cost_model import ExpectedCost, FlopsCostModel
  from proxyless_tf.search.steps import ArchObjective
  keras.utils.set_random_seed(1)
  space = get_space("tiny")
  net = Supernet(space)
  cost = FlopsCostModel()
  cost.offset = 10.0  # mul_log takes log(latency): keep it > 1
  expected = ExpectedCost(cost, space)
  ref = 0.8 * float(expected([op.alpha for op in net.mixed_ops]))
  steps = SearchSteps(net, tf.random.Generator.from_seed(4), arch_mode="two",
                      objective=ArchObjective(expected, ref=ref, form=form, lam=1.0))
  x, y = _batch((8, 16, 16, 1)), tf.constant(np.arange(8) % 10, tf.int32)
  moved_pairs = 0
  for _ in range(6):
    before = [tf.nn.softmax(op.alpha).numpy() for op in net.mixed_ops]
    steps.arch_step(x, y)
    for op, p in zip(net.mixed_ops, before):
      after = tf.nn.softmax(op.alpha).numpy()
      pair = sorted(set(op.pair.numpy().tolist()))
      others = [j for j in range(op.num_candidates) if j not in pair]
      np.testing.assert_allclose(after[others], p[others], rtol=1e-6, atol=0)
      moved_pairs += int(not np.allclose(after[pair], p[pair], rtol=1e-7, atol=0))
  assert moved_pairs > 0  # the pairs did learn


def test_reinforce_moves_towards_rewarded_choices():
  keras.utils.set_random_seed(0)
  net = Supernet(get_space("tiny"))
  steps = SearchSteps(net, tf.random.Generator.from_seed(0))
  before = net.probabilities()[0]
  choices = tf.constant([[0, 0, 0], [1, 0, 0]], tf.int32)
  for _ in range(3):
    steps._rl_apply(choices, tf.constant([1.0, -1.0]))
  after = net.probabilities()[0]
  assert after[0] > before[0] and after[1] < before[1]
  x, y = _batch((8, 16, 16, 1)), tf.constant(np.arange(8) % 10, tf.int32)
  steps.rl_update(x, y, num_samples=4)
  first = float(steps.rl_baseline.numpy())
  steps.rl_update(x, y, num_samples=4)
  assert bool(steps.rl_baseline_set.numpy()) and 0.0 <= first <= 1.0
  assert set(steps.path_traces().values()) == {1}


def test_path_masked_sgd_is_torch_nesterov_on_the_active_path_only():
  from proxyless_tf.search.optim import PathMaskedSGD
  rng = np.random.default_rng(0)
  values = [rng.standard_normal(3).astype(np.float32) for _ in range(3)]
  variables = [tf.Variable(v) for v in values]  # 0: shared, 1: candidate 0, 2: candidate 1
  active = tf.Variable(1)
  opt = PathMaskedSGD(variables, [(active, [[1], [2]])], momentum=0.9, weight_decay=0.1)
  grads = [tf.constant(rng.standard_normal(3).astype(np.float32)) for _ in range(3)]
  expect = [v.copy() for v in values]
  momentum = [np.zeros(3, np.float32) for _ in range(3)]
  for lr in (0.5, 0.25):  # two steps: the second uses the momentum of the first
    tf.function(lambda: opt.apply(grads, variables, lr))()
    for i in (0, 2):
      g = grads[i].numpy() + 0.1 * expect[i]
      momentum[i] = 0.9 * momentum[i] + g
      expect[i] = expect[i] - lr * (g + 0.9 * momentum[i])
    for i in range(3):
      np.testing.assert_allclose(variables[i].numpy(), expect[i], rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(opt.slots[i].numpy(), momentum[i], rtol=1e-5, atol=1e-6)
  assert int(opt.iterations.numpy()) == 2


def test_warm_up_samples_uniformly_and_search_from_alpha_in_one_program():
  from proxyless_tf.search.sampling import sample_paths
  op = MixedOp(8, 1, [Candidate(3, 3), Candidate(5, 3), Candidate(7, 3)], residual=False)
  op.build((None, 4, 4, 8))
  op.alpha.assign([6.0, -6.0, -6.0])
  generator = tf.random.Generator.from_seed(0)
  traces = []

  @tf.function
  def draw(uniform):
    traces.append(1)
    sample_paths(generator, [op], "single", uniform=uniform)
    return tf.convert_to_tensor(op.active)

  for uniform, check in ((True, lambda c: c.min() > 60), (False, lambda c: c[0] > 290)):
    counts = np.bincount([int(draw(tf.constant(uniform))) for _ in range(300)], minlength=3)
    assert check(counts), (uniform, counts)
  assert len(traces) == 1
