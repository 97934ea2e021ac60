"""Requested-latency mode: the latency weight adapts until the derived network lands on a target.

A fixed latency weight gives whatever latency it gives; users ask for "a net at 0.6 ms". Here the
arch loss is CE + m * (E[latency] - T) / T and the multiplier m follows dual ascent after every
arch step: it rises while the network the search would derive now (argmax per mixed op) is
slower than T and falls (below zero if need be: T is a target, not only a bound) while it is
faster. The argmax latency drives m, not E[latency], because the argmax is what gets derived;
E[latency] still carries the gradient to the logits. m is a variable in the checkpoint.
"""

from __future__ import annotations

import math

import tensorflow as tf

from proxyless_tf.errors import UserError


def parse_request(value, flag: str = "--target_latency") -> tuple[float, bool]:
  """`--target_latency`: (number, is_ratio). A number is in the cost model's unit (ms, MMACs);
  `0.8x` is a ratio to the space's reference net (k3 e6 everywhere) priced on the same cost model,
  which means the same point of the trade-off on a fast and a slow machine. 0: off."""
  text = str(value).strip().lower()
  ratio = text.endswith("x")
  try:
    number = float(text[:-1] if ratio else text)
  except ValueError:
    raise UserError(f"{flag} must be a number in the target's unit (e.g. 0.26 ms) or a "
                    f"ratio to the space's reference net (e.g. 0.8x), got {value!r:.40}") from None
  if not math.isfinite(number) or number < 0 or (ratio and number == 0):
    raise UserError(f"{flag} must be >= 0 (a ratio > 0), got {value!r:.40}")
  return number, ratio


def resolve_request(value, expected, space, unit: str) -> dict:
  """The request in the cost model's unit: {target, ratio (None for an absolute request),
  reference (the reference net's cost), reference_name}; a clear error outside what the space can
  reach on this cost model."""
  import numpy as np
  number, ratio = parse_request(value)
  reference = expected.of_choices(space.reference_choices())
  target = number * reference if ratio else number
  fastest = expected.of_choices([int(np.argmin(c.numpy())) for c in expected.per_op])
  slowest = expected.of_choices([int(np.argmax(c.numpy())) for c in expected.per_op])
  if not fastest * 0.97 <= target <= slowest * 1.03:
    asked = f"{number:g}x the reference net = {target:.4g}" if ratio else f"{target:g}"
    raise UserError(f"--target_latency={asked} {unit} is outside what the space can be on this "
                    f"cost model: {fastest:.4g} to {slowest:.4g} {unit} "
                    f"({fastest / reference:.2f}x to {slowest / reference:.2f}x the reference "
                    "net); ask for a value in that range")
  return {"target": float(target), "ratio": number if ratio else None,
          "reference": float(reference), "reference_name": space.reference_arch().name}


class LatencyController:

  def __init__(self, target: float, rate: float = 0.05, limit: float = 10.0):
    if not target > 0:
      raise ValueError(f"target latency must be > 0, got {target}")
    self.target, self.rate, self.limit = float(target), float(rate), float(limit)
    self.multiplier = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="latency_multiplier")

  def relative_error(self, latency: float) -> float:
    return (float(latency) - self.target) / self.target

  def update(self, latency: float) -> float:
    """One dual-ascent step from the current derived latency; returns the new multiplier."""
    value = float(self.multiplier.numpy()) + self.rate * self.relative_error(latency)
    value = min(max(value, -self.limit), self.limit)
    self.multiplier.assign(value)
    return value


def choices_at_latency(log_probs, costs, fixed: float, target: float, tolerance: float = 0.03,
                       scale: float = 1.0, offset: float = 0.0, bins_per_tolerance: int = 200):
  """The most probable architecture (max sum of log p over the mixed ops) whose predicted latency
  `offset + scale * (fixed + sum of chosen costs)` is within `tolerance` of `target`; the one
  closest to `target` when none is. Dynamic programming over latency bins of width
  target * tolerance / bins_per_tolerance (rounding moves a sum by far less than the tolerance).

  Why: the argmax of the final distribution is one architecture of a discrete space, and a
  multiplier that oscillates around the target can leave it a few % off; among the
  architectures the search deems likely, this picks one that is on target.
  """
  import numpy as np
  raw_target = (target - offset) / scale
  width = raw_target * tolerance / bins_per_tolerance
  low, high = raw_target * (1 - tolerance) - fixed, raw_target * (1 + tolerance) - fixed
  states = {0: (0.0, ())}  # latency bin -> (log prob, choices)
  for lp, cost in zip(log_probs, costs):
    nxt = {}
    for b, (score, chosen) in states.items():
      for j, (l, c) in enumerate(zip(lp, cost)):
        nb = b + int(round(float(c) / width))
        if nb * width > high + width:
          continue  # already too slow; costs are >= 0
        cand = (score + float(l), chosen + (j,))
        if nb not in nxt or cand[0] > nxt[nb][0]:
          nxt[nb] = cand
    states = nxt
  if not states:  # even the fastest choices are too slow: take them
    return [int(np.argmin(c)) for c in costs]
  exact = {b: fixed + sum(float(c[j]) for c, j in zip(costs, ch)) for b, (_, ch) in states.items()}
  inside = [b for b in states if low + fixed <= exact[b] <= high + fixed]
  if inside:
    best = max(inside, key=lambda b: states[b][0])
  else:
    best = min(states, key=lambda b: abs(exact[b] - raw_target))
  return list(states[best][1])
