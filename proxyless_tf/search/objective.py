"""The hardware-aware loss forms (ProxylessNAS, Sec. 3.3 and the original code)."""

from __future__ import annotations

import tensorflow as tf

from proxyless_tf.errors import UserError

LATENCY_LOSSES = ("mul_log", "add_linear", "none")


def hardware_loss(ce, expected_latency, ref: float, form: str, alpha: float = 0.2,
                  beta: float = 0.3, lam: float = 0.1):
  """mul_log: CE * alpha * (log(E[lat]) / log(ref))^beta;  add_linear: CE + lambda*(E[lat]-ref)/ref."""
  if form == "none" or expected_latency is None:
    return ce
  if form == "mul_log":
    return ce * alpha * tf.pow(tf.math.log(expected_latency) / tf.math.log(ref), beta)
  if form == "add_linear":
    return ce + lam * (expected_latency - ref) / ref
  raise UserError(f"unknown --latency_loss {form!r}; one of {', '.join(LATENCY_LOSSES)}")


def rl_reward(accuracy: float, latency: float | None, ref: float, exponent: float = 0.1) -> float:
  """REINFORCE reward: accuracy x (ref / latency)^0.1 (accuracy alone without a target)."""
  if latency is None:
    return accuracy
  return accuracy * (ref / latency) ** exponent
