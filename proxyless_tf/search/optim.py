"""SGD (momentum, Nesterov, weight decay) that leaves unsampled paths exactly where they are.

Under `tf.switch_case` the gradients of the paths not taken come back as zeros, not None, so a
stock momentum/weight-decay optimizer would still move those weights every step. Here each
variable carries a 0/1 mask (1 for shared layers; for a candidate's weights, "this candidate is the
active path") and a masked variable keeps both its value and its momentum. Rules match
torch.optim.SGD(nesterov=True), the original code's optimizer:
  g = grad + wd * w;  m = mu * m + g;  w -= lr * (g + mu * m)
"""

from __future__ import annotations

import tensorflow as tf


class PathMaskedSGD(tf.Module):

  def __init__(self, variables, momentum: float = 0.9, weight_decay: float = 4e-5,
               nesterov: bool = True, name: str = "weight_optimizer"):
    super().__init__(name=name)
    self.momentum = momentum
    self.weight_decay = weight_decay
    self.nesterov = nesterov
    with self.name_scope:
      self.slots = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                name=f"momentum_{i}") for i, v in enumerate(variables)]
      self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")

  def apply(self, grads, variables, masks, learning_rate) -> None:
    lr = tf.cast(learning_rate, tf.float32)
    for grad, var, slot, mask in zip(grads, variables, self.slots, masks):
      if grad is None:
        continue
      if isinstance(grad, tf.IndexedSlices):
        grad = tf.convert_to_tensor(grad)
      g = grad + self.weight_decay * var
      m = self.momentum * slot + g
      step = g + self.momentum * m if self.nesterov else m
      if mask is None:  # shared layer: always updated
        slot.assign(m)
        var.assign_sub(lr * step)
      else:
        slot.assign(mask * m + (1.0 - mask) * slot)
        var.assign_sub(lr * mask * step)
    self.iterations.assign_add(1)
