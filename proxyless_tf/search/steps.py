"""The steps of the search: weight step, gradient arch step, REINFORCE update, evaluation.

The steps run eagerly, as plain Python over compiled pieces: the sampled paths live in
non-trainable int variables, are read on the host, and each mixed op runs its sampled candidate
through a compiled function shared by every layer of that kind and shape
(`model/shared_call.py`), built the first time one is sampled. A step's
program is then what it samples, not every candidate of the space, which is what makes the
paper's spaces start in seconds (`path_traces()` lets tests check that nothing is traced twice).
The small REINFORCE update over the logits alone stays one `tf.function`.

Every step runs through a tf.distribute strategy (the default one: a single device). Paths are
sampled once per step in cross-replica context, from one generator, and assigned to the mirrored
`active` / `pair` variables: every replica (and, under MultiWorkerMirroredStrategy, every worker:
same seed, same draws) runs the SAME architecture, so the all-reduced gradients belong to it. Each
replica gets its slice of the global batch; its loss is divided by the replica count, gradients
are summed across replicas, and every replica applies the same update to its copy (weights through
the path-masked SGD on its local variables, alpha through Keras' Adam, which all-reduces itself).
The `two`-mode rescale runs once, in cross-replica context. BN normalizes with each replica's
own batch statistics (see `utils.strategy.replica_local_bn_statistics` for why), so a replicated
step equals a single-device step whose BN sees the global batch slice by slice.
"""

from __future__ import annotations

import collections
import dataclasses

import keras
import numpy as np
import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.model import shared_call
from proxyless_tf.search.loss_scale import DynamicLossScale
from proxyless_tf.search.objective import hardware_loss, rl_reward
from proxyless_tf.search.optim import PathMaskedSGD
from proxyless_tf.search.sampling import sample_paths
from proxyless_tf.utils.compiled import count


@dataclasses.dataclass
class ArchObjective:
  """How the arch step trades accuracy for latency (`expected` None: accuracy alone)."""

  expected: object = None  # latency.cost_model.ExpectedCost
  ref: float = 1.0
  form: str = "mul_log"
  alpha: float = 0.2
  beta: float = 0.3
  lam: float = 0.1
  controller: object = None  # search.target_latency.LatencyController (requested-latency mode)


def cross_entropy(labels, logits, label_smoothing: float = 0.0):
  num_classes = tf.shape(logits)[-1]
  target = tf.one_hot(labels, num_classes)
  if label_smoothing:
    target = target * (1.0 - label_smoothing) + label_smoothing / tf.cast(num_classes, tf.float32)
  return tf.reduce_mean(-tf.reduce_sum(target * tf.nn.log_softmax(logits), axis=-1))


def accuracy(labels, logits):
  return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32),
                                         tf.cast(labels, tf.int32)), tf.float32))


def keep_gradient_zeros_unfolded() -> None:
  """Turns Grappler's constant folding off for this process.

  The gradient of a `tf.switch_case` produces zeros for what the untaken branches would have
  computed; with static shapes Grappler folds them into graph constants of activation size that stay
  resident after the step: measured 76 MB (weight step) and 830 MB (full_v2 arch step) at batch 64,
  64x64 inputs, `small` space, which is the memory of several extra paths. A dynamic batch dimension
  avoids the folding too but raised the full_v2 peak by 40% in the same measurement.
  """
  tf.config.optimizer.set_experimental_options({"constant_folding": False})


class SearchSteps:

  def __init__(self, net, generator: tf.random.Generator, arch_mode: str = "full_v2",
               objective: ArchObjective | None = None, momentum: float = 0.9,
               weight_decay: float = 4e-5, label_smoothing: float = 0.1, arch_lr: float = 1e-3,
               rl_baseline_decay: float = 0.99, strategy=None, loss_scale: bool = False):
    """Build it under `strategy.scope()` (the optimizer's variables are mirrored then).
    `loss_scale`: dynamic loss scaling, for a supernet built under `mixed_float16`."""
    keep_gradient_zeros_unfolded()
    self.strategy = strategy or tf.distribute.get_strategy()
    self.replicas = self.strategy.num_replicas_in_sync
    self.net = net
    self.generator = generator
    self.arch_mode = arch_mode
    self.objective = objective or ArchObjective()
    self.label_smoothing = label_smoothing
    self.trace_counts = collections.Counter()  # of the traced REINFORCE update
    self.weight_vars = net.weight_variables
    self.arch_vars = net.arch_variables
    index = {id(v): i for i, v in enumerate(self.weight_vars)}
    groups = [(op.active, [[index[id(v)] for v in variables]
                           for variables in op.candidate_variables()]) for op in net.mixed_ops]
    self.weight_opt = PathMaskedSGD(self.weight_vars, groups, momentum, weight_decay)
    self.arch_opt = keras.optimizers.Adam(arch_lr, beta_1=0.0, beta_2=0.999, epsilon=1e-8)
    self.arch_opt.build(self.arch_vars)
    self.loss_scale = DynamicLossScale() if loss_scale else None
    self.rl_baseline = tf.Variable(0.0, trainable=False, name="rl_baseline")
    self.rl_baseline_set = tf.Variable(False, trainable=False, name="rl_baseline_set")
    self.rl_baseline_decay = rl_baseline_decay
    # Eager steps over compiled pieces shared by kind (module docstring). Traced whole, one
    # step held every candidate of every op: minutes and GBs before the first step at 224.
    self._weight_step = self._weight_step_fn
    self._arch_step = self._arch_step_fn
    self._evaluate = self._evaluate_fn
    self._rl_sample = self._rl_sample_fn
    self._rl_apply = tf.function(self._rl_apply_fn, autograph=False)

  def set_arch_mode(self, arch_mode: str) -> None:
    """Switches the gate-gradient mode."""
    self.arch_mode = arch_mode

  def programs_built(self) -> int:
    """How many compiled pieces exist so far: a step that made new ones was not a steady step
    (the cost projection leaves it out)."""
    return (sum(count(op, "_path_functions") for op in self.net.mixed_ops) + shared_call.built()
            + count(self.net, "_part_functions") + count(self.weight_opt, "_update_functions"))

  def path_traces(self) -> dict:
    """How often each built candidate function was traced: the shared ones (by kind, shape,
    training, frozen) and nested candidates' own (by op, candidate, training). 1 each when a new sample
    only calls another function, however many steps ran."""
    own = {(op.name, j, training): fn.experimental_get_tracing_count()
           for op in self.net.mixed_ops
           for (j, training), fn in op.__dict__.get("_path_functions", {}).items()}
    return {**shared_call.traces(), **own}

  def checkpoint_items(self) -> dict:
    # the Keras optimizer's variables explicitly (tf.train.Checkpoint does not track them), keyed
    # by position: their names get a suffix when a process makes a second optimizer
    return {"weight_optimizer": self.weight_opt, "arch_optimizer": self.arch_opt,
            "arch_optimizer_variables": {str(i): v for i, v in enumerate(self.arch_opt.variables)},
            "rl_baseline": self.rl_baseline, "rl_baseline_set": self.rl_baseline_set,
            **({} if self.loss_scale is None else {"loss_scale": self.loss_scale})}

  def expected_latency(self):
    if self.objective.expected is None:
      return None
    return self.objective.expected(self.arch_vars)

  def _arch_step_latency(self):
    """The latency term of an arch step: over the sampled pairs in `two` mode."""
    if self.objective.expected is None:
      return None
    if self.arch_mode == "two":
      return self.objective.expected(self.arch_vars, pairs=[op.pair for op in self.net.mixed_ops])
    return self.objective.expected(self.arch_vars)

  def _latency_weight(self):
    """add_linear's lambda: fixed, or the requested-latency controller's multiplier."""
    if self.objective.controller is not None:
      return tf.convert_to_tensor(self.objective.controller.multiplier)
    return self.objective.lam

  # -- weight step ---------------------------------------------------------------------------------

  def weight_step(self, x, y, learning_rate, uniform: bool = False):
    """Samples one path per mixed op (uniformly in warm-up) and trains only those weights."""
    x, y = self.distribute(x, y)
    return self._weight_step(x, y, tf.constant(learning_rate, tf.float32),
                             tf.constant(bool(uniform)))

  def _weight_step_fn(self, x, y, learning_rate, uniform):
    sample_paths(self.generator, self.net.mixed_ops, "single", uniform=uniform)
    loss, acc = self.strategy.run(self._weight_replica, args=(x, y, learning_rate))
    return self._sum(loss), self._sum(acc)

  def _weight_replica(self, x, y, learning_rate):
    with tf.GradientTape() as tape:
      logits = self.net(x, training=True, mode="single")
      loss = cross_entropy(y, logits, self.label_smoothing) / self.replicas
      scaled = loss if self.loss_scale is None else self.loss_scale.scaled(loss)
    grads = self._all_reduce(tape.gradient(scaled, self.weight_vars))
    if self.loss_scale is None:
      self.weight_opt.apply(grads, self.weight_vars, learning_rate)
    else:
      grads, finite = self.loss_scale.unscale(grads)
      self.weight_opt.apply(grads, self.weight_vars, learning_rate, apply_if=finite)
      self.loss_scale.update(finite)
    return loss, accuracy(y, logits) / self.replicas

  # -- replicas ------------------------------------------------------------------------------------

  def distribute(self, *tensors, even: bool = True):
    """The global batch -> one slice per replica (as is on a single device). Training steps need
    equal slices (each replica's mean loss weighs 1/replicas); evaluation takes any size."""
    if self.replicas == 1:
      return tensors
    size, n = int(tensors[0].shape[0]), self.replicas
    if even and size % n:
      raise UserError(f"batch of {size} does not split over {n} replicas; use a batch size "
                      f"that is a multiple of {n}")

    def local(ctx):
      i = ctx.replica_id_in_sync_group
      return tuple(tf.convert_to_tensor(t)[i * size // n:(i + 1) * size // n] for t in tensors)
    return self.strategy.experimental_distribute_values_from_function(local)

  def _all_reduce(self, grads):
    """Sums over the replicas; a weight that the sampled path never touched has no gradient
    (None) on every replica alike (they run the same path) and stays None."""
    if self.replicas == 1:
      return grads
    present = [i for i, g in enumerate(grads) if g is not None]
    summed = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
    out = list(grads)
    for i, g in zip(present, summed):
      out[i] = g
    return out

  def _sum(self, value):
    return self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

  # -- gradient arch step --------------------------------------------------------------------------

  def arch_step(self, x, y):
    """One update of alpha on a held-out batch: (loss, cross-entropy, accuracy, E[latency])."""
    return self._arch_step(*self.distribute(x, y))

  def _arch_step_fn(self, x, y):
    """One update of alpha on a held-out batch: no label smoothing, BN in training mode."""
    sample_paths(self.generator, self.net.mixed_ops, self.arch_mode)
    old = [tf.identity(tf.convert_to_tensor(v)) for v in self.arch_vars]
    results = self.strategy.run(self._arch_replica, args=(x, y))
    if self.arch_mode == "two":  # once per step, on the reduced update
      for op, old_alpha in zip(self.net.mixed_ops, old):
        op.rescale_pair(old_alpha)
    return tuple(self._sum(r) for r in results)

  def _arch_replica(self, x, y):
    n = self.replicas
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch([v.value for v in self.arch_vars])
      logits = self.net(x, training=True, mode=self.arch_mode)
      ce = cross_entropy(y, logits)
      latency = self._arch_step_latency()
      o = self.objective
      loss = hardware_loss(ce, latency, o.ref, o.form, o.alpha, o.beta, self._latency_weight())
      local = loss / n  # Adam sums the replicas' gradients
      if self.loss_scale is not None:
        local = self.loss_scale.scaled(local)
    grads = tape.gradient(local, self.arch_vars)
    if self.loss_scale is not None:
      # all-reduced first, so every replica takes the same decision; a non-finite step gives
      # Adam zero gradients (beta_1 = 0: alpha does not move)
      grads, finite = self.loss_scale.unscale(self._all_reduce(grads))
      grads = [tf.where(finite, g, tf.zeros_like(g)) / n for g in grads]
      self.loss_scale.update(finite)
    grads = [tf.where(tf.equal(tf.convert_to_tensor(op.active), op.zero_index),
                      tf.zeros_like(g), g) for op, g in zip(self.net.mixed_ops, grads)]
    self.arch_opt.apply_gradients(zip(grads, self.arch_vars))
    latency = tf.constant(0.0) if latency is None else latency
    return loss / n, ce / n, accuracy(y, logits) / n, latency / n

  def arch_gradients(self, x, y):
    """The alpha gradient of one arch step on the current sample (for tests and cross-checks)."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch([v.value for v in self.arch_vars])
      ce = cross_entropy(y, self.net(x, training=True, mode=self.arch_mode))
    return tape.gradient(ce, self.arch_vars)

  # -- REINFORCE -----------------------------------------------------------------------------------

  def _rl_sample_fn(self, x, y):
    sample_paths(self.generator, self.net.mixed_ops, "single")
    # Batch statistics, as in the held-out evaluation: a rarely sampled path's moving statistics
    # are stale, and the reward would rank staleness instead of the architecture.
    acc = self.strategy.run(
        lambda x, y: accuracy(y, self.net(x, training=True, mode="single")) / self.replicas,
        args=(x, y))
    return tf.stack([tf.convert_to_tensor(op.active) for op in self.net.mixed_ops]), self._sum(acc)

  def _rl_apply_fn(self, choices, advantages):
    self.trace_counts["rl_apply"] += 1
    return self._sum(self.strategy.run(self._rl_apply_replica, args=(choices, advantages)))

  def _rl_apply_replica(self, choices, advantages):
    """alpha gradient = mean_j (R_j - b) * grad(-sum_ops log p(choice_j)); every replica holds
    the same samples, so each contributes 1/replicas of it to Adam's sum."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch([v.value for v in self.arch_vars])
      log_probs = tf.add_n([tf.gather(tf.nn.log_softmax(alpha), choices[:, m])
                            for m, alpha in enumerate(self.arch_vars)])
      loss = -tf.reduce_mean(advantages * log_probs) / self.replicas
    grads = tape.gradient(loss, self.arch_vars)
    self.arch_opt.apply_gradients(zip(grads, self.arch_vars))
    return loss

  def rl_update(self, x, y, num_samples: int = 10):
    """Samples `num_samples` whole architectures, rewards each on one held-out batch, steps alpha."""
    choices, rewards, accuracies = [], [], []
    x, y = self.distribute(x, y)
    for _ in range(num_samples):
      chosen, acc = self._rl_sample(x, y)
      chosen = chosen.numpy()
      latency = (None if self.objective.expected is None
                 else self.objective.expected.of_choices(chosen))
      choices.append(chosen)
      accuracies.append(float(acc))
      rewards.append(rl_reward(float(acc), latency, self.objective.ref))
    mean = float(np.mean(rewards))
    if not bool(self.rl_baseline_set.numpy()):
      self.rl_baseline.assign(mean)
      self.rl_baseline_set.assign(True)
    else:
      baseline = float(self.rl_baseline.numpy())
      self.rl_baseline.assign(baseline + self.rl_baseline_decay * (mean - baseline))
    advantages = np.array(rewards, np.float32) - float(self.rl_baseline.numpy())
    loss = self._rl_apply(tf.constant(np.stack(choices), tf.int32), tf.constant(advantages))
    return float(loss), mean, float(np.mean(accuracies))

  # -- evaluation ----------------------------------------------------------------------------------

  def evaluate_batch(self, x, y, training=False):
    """(loss, accuracy) of the active path on one batch (of any size)."""
    size = float(len(y))
    loss_sum, correct = self._evaluate(*self.distribute(x, y, even=False), training=training)
    return loss_sum / size, correct / size

  def _evaluate_fn(self, x, y, training=False):

    def replica(x, y):
      logits = self.net(x, training=training, mode="single")
      count = tf.cast(tf.shape(y)[0], tf.float32)
      return cross_entropy(y, logits) * count, accuracy(y, logits) * count
    return tuple(self._sum(r) for r in self.strategy.run(replica, args=(x, y)))
