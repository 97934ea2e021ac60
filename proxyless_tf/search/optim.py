"""SGD (momentum, Nesterov, weight decay) that updates only the sampled path's weights.

Under `tf.switch_case` the gradients of the paths not taken come back as zeros, not None, so a
stock momentum/weight-decay optimizer would still move those weights (decay, momentum) every step.
Here each mixed op's candidate updates sit in one `tf.switch_case` on its active index: only the
sampled candidate's weights and momentum change, and the others cost nothing at run time. (An
earlier version masked every variable's update with a 0/1 tensor: every candidate's update was
computed each step, and the weight step's top-level graph had 17.7k nodes instead of 3k.)

Under tf.distribute, `apply` runs in each replica on the all-reduced gradients and updates that
replica's copy of each variable (the raw op writes the local handle), so every copy takes the
same step: the synchronous data parallelism of MirroredStrategy, without a cross-replica merge.

The rule is torch.optim.SGD(nesterov=True), the original code's optimizer, which is exactly
TF's fused ApplyMomentum with use_nesterov:
  g = grad + wd * w;  m = mu * m + g;  w -= lr * (g + mu * m)
"""

from __future__ import annotations

import tensorflow as tf

from proxyless_tf.utils.compiled import cached


def _tf_variable(variable):
  """A Keras variable's TensorFlow variable (a tf.function argument then stays a variable)."""
  return getattr(variable, "value", variable) if not isinstance(variable, tf.Variable) else variable


class PathMaskedSGD(tf.Module):
  """`groups`: per mixed op, (its active-index variable, per candidate the indices into
  `variables` of that candidate's weights). Variables in no group are shared: always updated."""

  def __init__(self, variables, groups=(), momentum: float = 0.9, weight_decay: float = 4e-5,
               nesterov: bool = True, name: str = "weight_optimizer"):
    super().__init__(name=name)
    self.momentum = momentum
    self.weight_decay = weight_decay
    self.nesterov = nesterov
    self.groups = [(active, [list(c) for c in candidates]) for active, candidates in groups]
    grouped = {i for _, candidates in self.groups for c in candidates for i in c}
    self.shared = [i for i in range(len(variables)) if i not in grouped]
    with self.name_scope:
      self.slots = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                name=f"momentum_{i}") for i, v in enumerate(variables)]
      # counted once per step however many replicas apply the (identical) update
      self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def _update(self, var, slot, grad, lr):
    if isinstance(grad, tf.IndexedSlices):
      grad = tf.convert_to_tensor(grad)
    g = grad + self.weight_decay * tf.convert_to_tensor(var)
    return tf.raw_ops.ResourceApplyMomentum(
        var=var.handle, accum=slot.handle, lr=lr, grad=g,
        momentum=tf.constant(self.momentum, var.dtype), use_nesterov=self.nesterov)

  def _update_all(self, indices, grads, variables, lr):
    if tf.executing_eagerly() and not tf.distribute.has_strategy():
      return self._compiled_update(indices, grads, variables, lr)
    for i in indices:
      if grads[i] is not None:
        self._update(variables[i], self.slots[i], grads[i], lr)
    return tf.constant(0)

  def _compiled_update(self, indices, grads, variables, lr):
    """Eager steps on one device: each group of weights (a candidate's, the shared ones) is
    updated by one compiled function instead of an eager op per weight. Groups of the same
    shapes share it (the variables are arguments), so a space of many mixed ops builds one
    update per group shape, not one per candidate. (Under a tf.distribute strategy each replica updates
    its own copies eagerly.)"""
    present = [i for i in indices if grads[i] is not None]
    if not present:
      return tf.constant(0)
    key = tuple((tuple(variables[i].shape), str(variables[i].dtype)) for i in present)
    update = cached(self, "_update_functions", key, lambda: self._group_update)
    return update([_tf_variable(variables[i]) for i in present], [self.slots[i] for i in present],
                  [tf.convert_to_tensor(grads[i]) for i in present], lr)

  def _group_update(self, group, slots, group_grads, lr):
    for var, slot, grad in zip(group, slots, group_grads):
      self._update(var, slot, grad, lr)
    return tf.constant(0)

  def apply(self, grads, variables, learning_rate, apply_if=None) -> None:
    """`apply_if` (a bool tensor): skip the whole update when false (a non-finite float16 step)."""
    lr = tf.cast(learning_rate, tf.float32)

    eager = tf.executing_eagerly()

    def update():
      self._update_all(self.shared, grads, variables, lr)
      for active, candidates in self.groups:
        if eager:  # the search's eager steps: the sample is on the host (out of range: the
          j = int(active.numpy())  # last, as tf.switch_case)
          self._update_all(candidates[j if 0 <= j < len(candidates) else -1], grads, variables, lr)
        else:
          tf.switch_case(tf.convert_to_tensor(active), [
              lambda c=c: self._update_all(c, grads, variables, lr) for c in candidates])
      return tf.constant(0)

    if apply_if is None:
      update()
    elif eager:
      if bool(apply_if):
        update()
    else:
      tf.cond(apply_if, update, lambda: tf.constant(0))
    self.iterations.assign_add(1)
