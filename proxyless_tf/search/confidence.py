"""Does the search's result mean something? A verdict on the learned distribution, for the log.

The architecture is derived from the per-decision probabilities. While they are still close to
uniform, the derived net is chosen by the cost term and chance, not by what the supernet learned:
at the quickstart's budget this is the case, and such a net is about as accurate as a random one
of the same cost (BENCHMARKS.md "Can the supernet rank nets of the same cost?"). Users should be
told so instead of trusting a net that only looks searched.
"""

from __future__ import annotations

import numpy as np

from proxyless_tf.supernet.supernet import entropy_nats

NEAR_UNIFORM = 0.9  # entropy / its maximum above this: the distribution has barely moved


def entropy_ratio(probabilities) -> float:
  """Entropy of the per-decision distributions over its maximum (1: uniform, 0: decided)."""
  maximum = float(sum(np.log(len(p)) for p in probabilities))
  return entropy_nats(probabilities) / maximum if maximum > 0 else 0.0


def distribution_verdict(probabilities, reranked: int = 0) -> tuple[float, str]:
  """(entropy ratio, one log line saying what the derived net is worth). `reranked`: how many
  nets of its cost the re-ranking (search/rerank.py) chose among, 0 if it did not run."""
  ratio = entropy_ratio(probabilities)
  decided = sum(float(np.max(p)) >= 0.5 for p in probabilities)
  text = (f"learned distribution: entropy {100 * ratio:.0f}% of uniform; {decided} of "
          f"{len(probabilities)} decisions have a choice with probability >= 0.5")
  if ratio > NEAR_UNIFORM and reranked:
    text += (f". It is still close to uniform: the supernet set the cost, and the re-ranking's "
             f"short trainings chose among {reranked} nets of that cost")
  elif ratio > NEAR_UNIFORM:
    text += (". It is still close to uniform: the derived net was picked by its cost and chance "
             "more than by accuracy; treat it as a random net of that cost. More --epochs "
             "concentrate the distribution, but at small budgets the supernet may still not rank "
             "nets of one cost (README, What to expect)")
  return ratio, text
