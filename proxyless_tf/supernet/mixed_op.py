"""The mixed op: candidates + architecture logits, run as ONE path with binarized gates.

Modes (`call(..., mode=...)`):
  single   weight step: only the active path runs (`tf.switch_case` on a non-trainable int
           variable, so changing the sampled path never retraces).
  full_v2  arch step, memory of one path: the forward runs the active path; the backward re-runs
           every other candidate on the same input without keeping activations, to get
           dL/dg_j = sum(o_j * dL/dout), then dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i).
  two      arch step over a sampled pair: p' = softmax of the pair's logits; only the pair's two
           outputs enter the gate gradient; the other logits get no gradient (and `rescale_pair`
           keeps their probabilities exactly unchanged after the optimizer step).
  full     all candidates run and stay in memory (DARTS-like); output = active path; the gate
           gradient comes from autodiff through one-hot gates. The memory reference, and a
           cross-check: on the same sample it gives the same alpha gradient as full_v2.

Where the program lives (why a search starts in seconds): run eagerly (the search's steps are
plain Python over compiled pieces), the sampled index is read on the host and only that candidate
runs, through a compiled function built the first time a candidate of its kind and shape is
sampled (`model/shared_call.py`; nested candidates: one per candidate, `path_function`) and reused
for every later step. So the program grows with what has been sampled, not with every candidate
of every op: the `proxyless` space at 224 takes its first weight step seconds after it
is built instead of minutes (BENCHMARKS.md "Search start-up"), and the original PyTorch code's
habit (run and differentiate only the sampled path) holds. Traced inside a `tf.function` (a user's
own graph), the same modes put every candidate under one `tf.switch_case` / `tf.cond` as before.

The residual (where legal) is added here, outside the candidates, because the skip is shared: a
`zero` candidate then makes the block an identity.

A candidate is any object with `name`, `is_zero`, `to_config()` and `layer(filters, strides,
name, **bn)`, of any family (an MBConv `Candidate` of `families/mbconv/space.py`, a tree edge's):
the modes above do not depend on what the candidates compute.

`weight_sharing`: "independent" (the paper: each candidate its own layer) or "nested" (MBConv
candidates cut their kernels from one set, see `families/mbconv/nested.py`; learns far faster in
short warm-ups).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.model.shared_call import call_shared
from proxyless_tf.utils.compiled import cached

ARCH_MODES = ("full_v2", "two", "full")
MODES = ("single",) + ARCH_MODES
WEIGHT_SHARING = ("independent", "nested")


def gate_grad_to_alpha(dg: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
  """BinaryConnect-style: dL/dalpha_i = sum_j dL/dg_j * p_j * (delta_ij - p_i)."""
  weighted = dg * probs
  return weighted - probs * tf.reduce_sum(weighted)


def candidate_from_config(value):
  """A candidate from its `to_config()`, by the family that reads it."""
  if hasattr(value, "layer"):  # a candidate already
    return value
  from proxyless_tf.families import families
  for family in families():
    candidate = family.candidate_from_config(value)
    if candidate is not None:
      return candidate
  raise ValueError(f"no family reads the candidate {value!r}")


def _dot(out, dy):
  """dL/dg of a gate: sum(out * dy), in float32 whatever the activations' dtype (mixed precision)."""
  return tf.reduce_sum(tf.cast(out, tf.float32) * tf.cast(dy, tf.float32))


@keras.saving.register_keras_serializable(package="proxyless_tf")
class MixedOp(keras.layers.Layer):

  def __init__(self, filters: int, strides: int, candidates, residual: bool,
               bn_momentum: float = 0.9, bn_epsilon: float = 1e-3,
               weight_sharing: str = "independent", padding: str = "same", **kwargs):
    super().__init__(**kwargs)
    if weight_sharing not in WEIGHT_SHARING:
      raise UserError(f"--weight_sharing={weight_sharing!r}: use one of "
                      f"{', '.join(WEIGHT_SHARING)}")
    self.weight_sharing = weight_sharing
    self.filters = filters
    self.strides = strides
    self.padding = padding
    self.candidates = tuple(candidate_from_config(c) for c in candidates)
    self.residual = residual
    self.bn_momentum = bn_momentum
    self.bn_epsilon = bn_epsilon
    self.num_candidates = len(self.candidates)
    self.zero_index = next((i for i, c in enumerate(self.candidates) if c.is_zero), -1)
    self.nested = None
    if weight_sharing == "nested":
      # candidates that can share one set of weights say how (`nested_layer`, a classmethod)
      real = [c for c in self.candidates if not c.is_zero]
      make = getattr(type(real[0]), "nested_layer", None)
      if make is None or any(type(c) is not type(real[0]) for c in real):
        raise UserError("--weight_sharing=nested nests MBConv kernels; this space's candidates "
                        "are other ops: use --weight_sharing=independent")
      self.nested = make(real, filters, strides, bn_momentum=bn_momentum, bn_epsilon=bn_epsilon,
                         padding=padding, name="nested")
      order = iter(range(len(real)))
      self.ops = [None if c.is_zero else next(order) for c in self.candidates]
    else:
      self.ops = [None if c.is_zero else c.layer(
          filters, strides, name=f"cand_{c.name}", bn_momentum=bn_momentum,
          bn_epsilon=bn_epsilon, padding=padding)
          for c in self.candidates]

  def build(self, input_shape):
    if self.nested is not None:
      self.nested.build(input_shape)
    else:
      for op in self.ops:
        if op is not None:
          op.build(input_shape)
    # autocast=False: under a mixed-precision policy the logits and gate gradients stay float32
    self.alpha = self.add_weight(
        name="alpha", shape=(self.num_candidates,), trainable=True, autocast=False,
        dtype="float32", initializer=keras.initializers.RandomNormal(stddev=1e-3))
    self.active = self.add_weight(name="active", shape=(), dtype="int32", trainable=False,
                                  initializer="zeros")
    self.pair = self.add_weight(name="pair", shape=(2,), dtype="int32", trainable=False,
                                initializer="zeros")
    self.built = True

  def candidate_variables(self) -> list[list]:
    """Per candidate, its trainable weights (empty for zero): what the weight step masks.
    Nested candidates list the shared kernels too: any of them being sampled trains those."""
    if self.nested is not None:
      return [[] if op is None else self.nested.candidate_variables(op) for op in self.ops]
    return [[] if op is None else list(op.trainable_variables) for op in self.ops]

  def probs(self) -> tf.Tensor:
    return tf.nn.softmax(self.alpha)

  # -- candidate outputs -------------------------------------------------------------------------

  def _run(self, j: int, x, training):
    if self.ops[j] is None:
      return tf.zeros_like(x)  # zero only exists where the shape is preserved
    if self.nested is not None:
      return self.nested(x, j=self.ops[j], training=training)
    return self.ops[j](x, training=training)

  def path_function(self, j: int, training) -> tf.types.experimental.PolymorphicFunction:
    """Nested candidates (slices of one shared layer): candidate j's forward as a compiled
    function of its own, built on first use, one per (candidate, training)."""
    j, training = int(j), bool(training)
    return cached(self, "_path_functions", (j, training),
                  lambda: lambda x: self._run(j, x, training))

  def _run_compiled(self, j: int, x, training, frozen: bool = False):
    """Eagerly: candidate j through a compiled function. Independent candidates share one per
    layer kind and shape across every mixed op (`model/shared_call.py`), so a space of many
    mixed ops builds one program per kind and shape, not one per (op, candidate)."""
    if self.ops[j] is None:
      return tf.zeros_like(x)
    if self.nested is not None:
      return self.path_function(j, training)(x)
    return call_shared(self.ops[j], x, training, frozen)

  def _switch(self, index, x, training, frozen: bool = False):
    if tf.executing_eagerly():  # the sample is on the host: run that candidate's function only
      # out of range (a sample from non-finite logits) runs the last, as tf.switch_case does
      j = int(index)
      return self._run_compiled(j if 0 <= j < self.num_candidates else self.num_candidates - 1,
                                x, training, frozen)
    return tf.switch_case(index, [lambda j=j: self._run(j, x, training)
                                  for j in range(self.num_candidates)])

  # -- modes ---------------------------------------------------------------------------------------

  def call(self, inputs, training=None, mode: str = "single"):
    if mode == "single":
      out = self._switch(tf.convert_to_tensor(self.active), inputs, training)
    elif mode == "full_v2":
      out = self._full_v2(inputs, training)
    elif mode == "two":
      out = self._two(inputs, training)
    elif mode == "full":
      out = self._full(inputs, training)
    else:
      raise ValueError(f"unknown mixed-op mode {mode!r}; one of {MODES}")
    return out + inputs if self.residual else out

  def _one_path(self, x, training, gate_grad):
    """Forward: only the active path. Backward: dx through that path, and
    dalpha = gate_grad(x, alpha, active, out, dy) from the gate gradients of the mode."""
    active = tf.convert_to_tensor(self.active)
    if tf.executing_eagerly():
      # The path's own function, seen by the caller's tape alone (dx through its cached backward);
      # the gate gradient rides on an identity of its output. A second tape around the call
      # would make TensorFlow build that function's backward anew at every step. The arch step
      # trains alpha alone: the path's backward skips its weight gradients (`frozen`).
      out = self._switch(active, x, training, frozen=True)

      @tf.custom_gradient
      def gate(out, alpha):
        return tf.identity(out), lambda dy: (dy, gate_grad(x, alpha, active, out, dy))

      return gate(out, tf.convert_to_tensor(self.alpha))

    @tf.custom_gradient
    def gated(x, alpha):
      with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        out = self._switch(active, x, training)

      def grad(dy, variables=None):
        dx = tape.gradient(out, x, output_gradients=dy)
        dalpha = gate_grad(x, alpha, active, out, dy)
        return (dx, dalpha), [None] * len(variables or [])

      return out, grad

    return gated(x, tf.convert_to_tensor(self.alpha))

  def _rerun_gate(self, index, x, training, dy):
    """dL/dg of a candidate that is not in memory: re-run it on x, keep nothing."""
    out = (self._run(index, x, training) if isinstance(index, int) and not tf.executing_eagerly()
           else self._switch(index, x, training))
    return _dot(tf.stop_gradient(out), dy)

  def _full_v2(self, x, training):
    def gate_grad(x, alpha, active, out, dy):
      if tf.executing_eagerly():  # one candidate at a time, the sampled one's output reused
        chosen = int(active)
        dg = [tf.constant(0.0) if self.ops[j] is None else
              _dot(out, dy) if j == chosen else self._rerun_gate(j, x, training, dy)
              for j in range(self.num_candidates)]
        return gate_grad_to_alpha(tf.stack(dg), tf.nn.softmax(alpha))
      # One re-run at a time: without the chain the executor may run the candidates side by
      # side and hold several candidates' activations at once.
      dg, previous = [], []
      for j in range(self.num_candidates):
        if self.ops[j] is None:
          dg.append(tf.constant(0.0))
          continue
        with tf.control_dependencies(previous):
          dg.append(tf.cond(tf.equal(active, j), lambda: _dot(out, dy),
                            lambda j=j: self._rerun_gate(j, x, training, dy)))
        previous = [dg[-1]]
      return gate_grad_to_alpha(tf.stack(dg), tf.nn.softmax(alpha))
    return self._one_path(x, training, gate_grad)

  def _two(self, x, training):
    pair = tf.convert_to_tensor(self.pair)

    def gate_grad(x, alpha, active, out, dy):
      other = tf.where(tf.equal(pair[0], active), pair[1], pair[0])
      dg_pair = tf.where(tf.equal(pair, active), _dot(out, dy),
                         self._rerun_gate(other, x, training, dy))
      dalpha_pair = gate_grad_to_alpha(dg_pair, tf.nn.softmax(tf.gather(alpha, pair)))
      return tf.scatter_nd(pair[:, None], dalpha_pair, [self.num_candidates])
    return self._one_path(x, training, gate_grad)

  def _full(self, x, training):
    active = tf.convert_to_tensor(self.active)
    n = self.num_candidates

    @tf.custom_gradient
    def binary_gates(alpha):
      def grad(dg):
        return gate_grad_to_alpha(dg, tf.nn.softmax(alpha))
      return tf.one_hot(active, n, dtype=alpha.dtype), grad

    gates = binary_gates(tf.convert_to_tensor(self.alpha))
    run = (lambda j: self._run_compiled(j, x, training)) if tf.executing_eagerly() else (
        lambda j: self._run(j, x, training))
    outs = [run(j) for j in range(n)]
    return tf.add_n([tf.cast(gates[j], outs[j].dtype) * outs[j] for j in range(n)])

  # -- two-path rescale ----------------------------------------------------------------------------

  def rescale_pair(self, old_alpha: tf.Tensor) -> None:
    """After the arch optimizer's step in `two` mode: shift the pair's logits by
    log(sum exp(new pair) / sum exp(old pair)) so every unsampled probability stays unchanged."""
    pair = tf.convert_to_tensor(self.pair)
    new = tf.gather(self.alpha, pair)
    offset = tf.reduce_logsumexp(new) - tf.reduce_logsumexp(tf.gather(old_alpha, pair))
    self.alpha.assign(tf.tensor_scatter_nd_sub(tf.convert_to_tensor(self.alpha), pair[:, None],
                                               tf.fill([2], offset)))

  def compute_output_shape(self, input_shape):
    size = [None if d is None else -(-d // self.strides) for d in input_shape[1:3]]
    return (input_shape[0], *size, self.filters)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "strides": self.strides,
            "candidates": [c.to_config() for c in self.candidates],
            "residual": self.residual, "bn_momentum": self.bn_momentum,
            "bn_epsilon": self.bn_epsilon, "weight_sharing": self.weight_sharing,
            "padding": self.padding}
