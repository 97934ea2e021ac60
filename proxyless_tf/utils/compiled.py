"""The search's compiled pieces: one `tf.function` per candidate path, fixed part or weight
group, built on first use (supernet/mixed_op.py says why).

Built in a loop by design, so TensorFlow's "N out of the last N calls triggered tf.function
retracing" warning (it counts lambdas of one code object as one function) would print on every
new sample; each piece is traced once, which `search.steps.SearchSteps.path_traces` checks.
"""

from __future__ import annotations

import tensorflow as tf


def compiled(fn, **kwargs):
  """`tf.function(fn, autograph=False, **kwargs)`, without the frequent-retracing warning."""
  function = tf.function(fn, autograph=False, **kwargs)
  function._omit_frequent_tracing_warning = True  # pylint: disable=protected-access
  return function


def cached(owner, table: str, key, make):
  """`owner`'s compiled piece `key` of its table `table`, made by `make()` the first time."""
  functions = owner.__dict__.setdefault(table, {})
  if key not in functions:
    functions[key] = compiled(make(), reduce_retracing=True)
  return functions[key]


def count(owner, table: str) -> int:
  return len(owner.__dict__.get(table, {}))
