"""Run a layer eagerly through ONE compiled function shared by every layer of its kind.

Why: the search's steps run eagerly over compiled pieces (supernet/mixed_op.py). A piece per
(mixed op, candidate) is fine for the 21 mixed ops of the `proxyless` space, but the `cifar_tree`
space has 756 mixed ops x 8 candidates: its first steps sample most of them, and tracing ~6k
functions (and their gradients) took longer than training. Layers of one class, config and input
shape compute the same function of (input, weights), so here they share one `tf.function` whose
weights are arguments: a stateless template of the layer (Keras's `stateless_call`; its
variables are never created) runs on the caller's weight values, and the new values of its
non-trainable state (BN moving statistics) are written back to the caller's variables. The
number of programs is then the number of distinct (kind, shape): 478 in `cifar_tree` (its
pyramid widens every block, so shapes repeat little) against its 6,048 (op, candidate) pairs.

On one device the layer's variables themselves are the function's arguments: the caller's
gradient tape sees them read inside the call and differentiates through the function's (cached)
backward, as it would through the layer. Under a tf.distribute strategy each replica reads its
own copies eagerly and passes the values.
"""

from __future__ import annotations

import inspect
import json
import threading

import keras
import tensorflow as tf

from proxyless_tf.utils.compiled import compiled

_FUNCTIONS: dict = {}
_LOCK = threading.Lock()  # a tf.distribute strategy runs its replicas in threads


def _key(layer, x, training: bool, frozen: bool):
  # a layer's config is fixed once it is made: its text is computed once per layer
  kind = layer.__dict__.get("_shared_call_kind")
  if kind is None:
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    kind = (type(layer).__module__, type(layer).__qualname__,
            json.dumps(config, sort_keys=True, default=str))
    object.__setattr__(layer, "_shared_call_kind", kind)
  return (*kind, tuple(x.shape), x.dtype.name, training, frozen)


class SharedFunction:
  """The compiled function of one (kind, input shape, training, frozen)."""

  def __init__(self, layer, x, training: bool, frozen: bool = False):
    config = dict(layer.get_config(), name=f"shared_{layer.name}")
    with keras.StatelessScope():  # the template's weights are placeholders, never allocated
      self.template = type(layer).from_config(config)
      self.template.build(tuple(x.shape))
    self.training = training
    self.frozen = frozen
    takes_training = "training" in inspect.signature(self.template.call).parameters
    self.kwargs = {"training": training} if takes_training else {}
    self.function = compiled(self._call)
    self.on_variables = compiled(self._call_on_variables)

  def _call(self, x, trainable, non_trainable):
    if self.frozen:  # no weight gradient: the backward computes the input's alone
      trainable = [tf.stop_gradient(w) for w in trainable]
    return self.template.stateless_call(trainable, non_trainable, x, **self.kwargs)

  def _call_on_variables(self, x, trainable, state):
    y, new_state = self._call(x, [tf.convert_to_tensor(v) for v in trainable],
                              [tf.convert_to_tensor(v) for v in state])
    if self.training:
      for variable, value in zip(state, new_state):
        variable.assign(value)
    return y

  def __call__(self, layer, x):
    if not tf.distribute.has_strategy():
      # One device: the variables themselves are the arguments (a function traced for one
      # variable serves every variable of the same shape): the reads, the moving-statistics
      # writes and the caller's gradient all happen inside one call.
      return self.on_variables(x, [v.value for v in layer.trainable_variables],
                               [v.value for v in layer.non_trainable_variables])
    # Replicas: each reads its own copies eagerly; the new state is written back here
    trainable = [tf.convert_to_tensor(v.value) for v in layer.trainable_variables]
    state = layer.non_trainable_variables
    y, new_state = self.function(x, trainable, [tf.convert_to_tensor(v.value) for v in state])
    if self.training:
      for variable, value in zip(state, new_state):
        variable.assign(value)
    return y

  def tracing_count(self) -> int:
    return (self.function.experimental_get_tracing_count()
            + self.on_variables.experimental_get_tracing_count())


def call_shared(layer, x, training, frozen: bool = False):
  """`layer(x, training=training)`, run by the function shared by its kind (built on first use).

  `frozen`: a caller that differentiates through the layer but not into its weights (the search's
  arch step) gets a function whose backward skips the weight gradients (the filter gradients of
  every conv: a third of a backward pass)."""
  training = bool(training)
  key = _key(layer, x, training, bool(frozen))
  function = _FUNCTIONS.get(key)
  if function is None:
    with _LOCK:
      function = _FUNCTIONS.get(key) or _FUNCTIONS.setdefault(
          key, SharedFunction(layer, x, training, bool(frozen)))
  return function(layer, x)


def run_layer(layer, x, training, frozen: bool = False):
  """Eagerly (the search's steps): `call_shared`; traced into a caller's graph: the layer itself."""
  if tf.executing_eagerly():
    return call_shared(layer, x, training, frozen)
  return layer(x, training=training)


def built() -> int:
  """How many shared functions exist in this process (a step that made one was not steady)."""
  return len(_FUNCTIONS)


def traces() -> dict:
  """How often each shared function was traced, by (class, input shape, training): 1 each when
  nothing is traced twice."""
  return {(key[1], key[3], key[5], key[6], i): fn.tracing_count()
          for i, (key, fn) in enumerate(_FUNCTIONS.items())}
