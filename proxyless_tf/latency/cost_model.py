"""Cost models: what an op costs on the target. The predictor and the search's expected latency.

prediction(arch)     = offset + scale * sum over the arch's ops of cost(op)
expected(space, p)   = offset + scale * (fixed ops + sum over mixed ops of sum_i p_i * cost_i)

`scale`/`offset` default to 1/0; a measured table may carry a least-squares correction for
per-model overhead (fit by `python -m proxyless_tf.latency validate --fit`).
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.latency.ops import OpSpec, arch_ops, space_ops


class CostModel:
  name = "cost"
  unit = "ms"
  notice: str | None = None  # one line the search prints once (e.g. "this table is an estimate")
  scale = 1.0
  offset = 0.0

  def prepare(self, space) -> None:
    """Called once the task's exact space is known (e.g. to measure a table on demand)."""

  def op_cost(self, op: OpSpec) -> float:
    raise NotImplementedError

  def check_covers(self, ops) -> None:
    """Raises a clear error when some ops cannot be costed (a table missing keys)."""

  def predict(self, config) -> float:
    ops = arch_ops(config)
    self.check_covers(ops)
    return self.offset + self.scale * sum(self.op_cost(op) for op in ops)

  def space_costs(self, space) -> tuple[float, list[np.ndarray]]:
    """(cost of the fixed parts, per mixed op the cost of each candidate; zero costs 0)."""
    fixed, candidates = space_ops(space)
    self.check_covers(fixed + [op for row in candidates for op in row if op is not None])
    per_op = [np.array([0.0 if op is None else self.op_cost(op) for op in row], np.float32)
              for row in candidates]
    return float(sum(self.op_cost(op) for op in fixed)), per_op


class ExpectedCost:
  """Differentiable E[latency] of a supernet under its architecture distribution."""

  def __init__(self, model: CostModel, space):
    self.model = model
    import tensorflow as tf  # the search's loss; predicting a net's cost needs no TensorFlow
    self.fixed, per_op = model.space_costs(space)
    self.per_op = [tf.constant(c) for c in per_op]

  def __call__(self, alphas, pairs=None):
    """E[latency] under softmax(alpha) per mixed op. With `pairs` (the `two` mode's sampled pair
    of each op), each op's expectation is over its pair only, with the pair's softmax and the
    other candidates counting zero, as the original code does: only the pair's logits then get
    a latency gradient, and the pair rescale keeps every other probability unchanged."""
    import tensorflow as tf
    total = tf.constant(self.fixed, tf.float32)
    for i, (alpha, costs) in enumerate(zip(alphas, self.per_op)):
      if pairs is None:
        total += tf.reduce_sum(tf.nn.softmax(alpha) * costs)
      else:
        pair = tf.convert_to_tensor(pairs[i])
        total += tf.reduce_sum(tf.nn.softmax(tf.gather(alpha, pair)) * tf.gather(costs, pair))
    return self.model.offset + self.model.scale * total

  def of_choices(self, choices) -> float:
    return float(self.model.offset + self.model.scale * (
        self.fixed + sum(float(c[i]) for c, i in zip(self.per_op, choices))))


class FlopsCostModel(CostModel):
  """Stand-in when no latency table is wanted: millions of multiply-adds."""

  name = "flops"
  unit = "MMACs"

  def op_cost(self, op: OpSpec) -> float:
    return op.macs / 1e6
