"""Re-ranking: the derived net and a few others of its cost, each trained briefly from scratch;
the one with the best held-out accuracy is the search's result.

Why: among nets of one cost, the supernet's inherited weights rank nets no better than chance
(BENCHMARKS.md "Can the supernet rank nets of the same cost?": Kendall tau -0.2 to -0.6 against
long trainings), and the architecture gradient learns from that same signal. Short standalone
trainings are the usual next proxy. Measured on Fashion-MNIST (BENCHMARKS.md "Re-ranking"), 1
epoch x 2 seeds ranked 6 same-cost nets at tau +0.20 and kept the third best, below the search's
own net: at that scale the nets differ by less than the proxy's noise, so it is off in the flag
files. It is here for users whose nets differ more, or who can afford longer trainings
(`--rerank_epochs`). The search still decides the cost and, where its distribution is sure, the
choices: candidates are drawn from the learned distribution, within `tolerance` of the derived
net's cost; the short trainings decide among them.

Data: the dataset's training split only, a seeded held-out part scored and a disjoint part
trained on; the test split is never touched. Every finished training is recorded in
`OUT/rerank.json` (keyed by the net and the settings), so a killed run continues where it was.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from proxyless_tf.errors import UserError
from proxyless_tf.utils.files import atomic_write_text, read_json_record

MAX_DRAWS = 20_000  # draws from the learned distribution while looking for same-cost candidates


def choices_key(choices) -> str:
  """A net's choices as one string: the key of rerank.json and of the drawn set."""
  return "-".join(str(int(c)) for c in choices)


@dataclasses.dataclass
class Candidate:
  choices: list[int]
  origin: str  # "search" (the derived net) or "drawn"
  cost: float | None
  scores: list[float] = dataclasses.field(default_factory=list)  # held-out accuracy per seed

  @property
  def key(self) -> str:
    return choices_key(self.choices)

  @property
  def score(self) -> float:
    return float(np.mean(self.scores)) if self.scores else float("nan")


def draw_candidates(probabilities, derived: list[int], count: int, cost_of=None,
                    tolerance: float = 0.03, seed: int = 0,
                    anchor: float | None = None) -> list[Candidate]:
  """The derived net first, then up to count - 1 distinct nets sampled from the per-decision
  `probabilities` whose cost (`cost_of(choices)`) is within `tolerance` of `anchor` (default: the
  derived net's cost; a requested latency in that mode). Without `cost_of`, nets are drawn with
  no cost constraint. Fewer come back when the distribution holds fewer such nets (MAX_DRAWS
  tries)."""
  rng = np.random.default_rng(seed)
  found = [Candidate(list(map(int, derived)), "search", cost_of(derived) if cost_of else None)]
  if cost_of and anchor is None:
    anchor = found[0].cost
  seen = {found[0].key}
  for _ in range(MAX_DRAWS):
    if len(found) >= count:
      break
    choices = [int(rng.choice(len(p), p=p / p.sum())) for p in probabilities]
    key = choices_key(choices)
    if key in seen:
      continue
    cost = cost_of(choices) if cost_of else None
    if cost_of and abs(cost / anchor - 1) > tolerance:
      continue
    seen.add(key)
    found.append(Candidate(choices, "drawn", cost))
  return found


def rerank_split(train, valid_examples: int, train_examples: int, seed: int):
  """(train part, held-out part) of a training split (data.sources.Split), disjoint and seeded.
  The held-out part is at most a fifth of the split."""
  n = len(train)
  valid = min(valid_examples, n // 5)
  if valid < 1 or n - valid < 1:
    raise UserError(f"re-ranking needs a training split to hold a part out; {n} images are too "
                    "few (lower --rerank_candidates to 0)")
  order = np.random.default_rng(seed + 20_000).permutation(n)
  return train.take(order[valid:valid + train_examples]), train.take(order[:valid])


class Reranker:
  """Trains each candidate for `epochs` on `seeds` seeds with the retrain recipe (batch 128, SGD
  Nesterov lr 0.05 cosine, label smoothing 0.1) and keeps the best mean held-out accuracy."""

  def __init__(self, dataset, out: str, epochs: int = 1, seeds: int = 2,
               train_examples: int = 24000, valid_examples: int = 5000, seed: int = 0,
               strategy="default", dtype_policy: str = "float32", chief: bool = True, log=print):
    train, held_out = rerank_split(dataset.train, valid_examples, train_examples, seed)
    self.data = dataclasses.replace(dataset, train=train, test=held_out)
    self.out, self.epochs, self.seeds = out, epochs, seeds
    self.strategy, self.dtype_policy, self.chief, self.log = strategy, dtype_policy, chief, log
    self.state_path = os.path.join(out, "rerank.json")
    # a damaged record (a disk that filled, a copy cut short) costs its trainings, not the run
    self.state = read_json_record(self.state_path, "the re-ranking's trainings are redone",
                                  _check_state, log, aside=chief) or {}

  def _key(self, candidate: Candidate, seed: int) -> str:
    return (f"{candidate.key}|seed {seed}|epochs {self.epochs}|train {len(self.data.train)}"
            f"|held-out {len(self.data.test)}")

  def run(self, candidates: list[Candidate], space) -> Candidate:
    from proxyless_tf.train import train
    total = len(candidates) * self.seeds
    self.log(f"re-ranking {len(candidates)} nets: each trained {self.epochs} epoch(s) on "
             f"{len(self.data.train)} training images, {self.seeds} seed(s), scored on "
             f"{len(self.data.test)} other training images (the test split is not used)")
    done = 0
    for seed in range(self.seeds):
      for i, candidate in enumerate(candidates):
        done += 1
        key = self._key(candidate, seed)
        if key in self.state:
          candidate.scores.append(self.state[key]["accuracy"])
          continue
        start = time.monotonic()
        arch = space.derive(candidate.choices, name=f"{space.name}_rerank_{i}")
        _, history = train(arch, self.data, os.path.join(self.out, "rerank", f"net{i}_s{seed}"),
                           self.epochs, 128, 0.05, 0.9, 4e-5, 0.1, strategy=self.strategy,
                           seed=seed, verbose=0, dtype_policy=self.dtype_policy)
        accuracy = float(history["val_accuracy"][-1])
        candidate.scores.append(accuracy)
        self.state[key] = {"accuracy": accuracy, "seconds": time.monotonic() - start, "net": i,
                           "origin": candidate.origin, "choices": candidate.choices,
                           "cost": candidate.cost, "seed": seed}
        if self.chief:
          atomic_write_text(self.state_path, json.dumps(self.state, indent=1) + "\n")
        self.log(f"re-ranking {done}/{total}: net {i} ({candidate.origin}) seed {seed}: "
                 f"held-out accuracy {accuracy:.4f} ({time.monotonic() - start:.0f} s)")
    return max(candidates, key=lambda c: c.score)  # the first (the search's own net) wins ties


def _check_state(data) -> str | None:
  """What is wrong with a parsed rerank.json (None: nothing)."""
  if not isinstance(data, dict):
    return "not an object of trainings"
  for key, row in data.items():
    accuracy = row.get("accuracy") if isinstance(row, dict) else None
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not (
        0 <= accuracy <= 1):
      return f"no accuracy for {key[:60]!r}"
  return None


def rerank_table(candidates: list[Candidate], best: Candidate, unit: str | None) -> str:
  """The candidates as a Markdown table, the kept one marked."""
  seeds = max(len(c.scores) for c in candidates)
  lines = ["| net | from | " + (f"cost ({unit}) | " if unit else "")
           + " | ".join(f"seed {s}" for s in range(seeds)) + " | mean | |",
           "|---:|---|" + ("---:|" if unit else "") + "---:|" * (seeds + 1) + "---|"]
  for i, c in enumerate(candidates):
    lines.append(f"| {i} | {c.origin} | " + (f"{c.cost:.3f} | " if unit else "")
                 + " | ".join(f"{s:.4f}" for s in c.scores) + f" | {c.score:.4f} | "
                 + ("kept" if c is best else "") + " |")
  return "\n".join(lines)
