"""How a search ends: the derived architecture (the argmax, or the most probable one on a
requested latency), optional re-ranking, `arch.json` (and the original code's format where the
family has one), the figure, the predicted and verified latency, the distribution's verdict and
the `SearchResult`. A mixin of `SearchRun` (`search/runner.py`).
"""

from __future__ import annotations

import json
import os

import numpy as np

from proxyless_tf.arch.io import save_arch
from proxyless_tf.arch.stats import format_table
from proxyless_tf.families import family_of
from proxyless_tf.search.confidence import distribution_verdict
from proxyless_tf.search.result import SearchResult
from proxyless_tf.search.target_latency import choices_at_latency
from proxyless_tf.utils.files import atomic_write_text

# Requested-latency mode derives the most probable net predicted within this of the request:
# half the +-3% the measured net is held to, leaving the other half to the predictor's error.
DERIVE_TOLERANCE = 0.015


class SearchFinish:
  """Reads `config`, `net`, `space`, `data`, `expected`, `controller`, `request`, `cost_model`,
  `strategy`, `total_steps`, `chief` and `log` of the run."""

  def _derive(self) -> list[int]:
    """The argmax choices; in requested-latency mode, the most probable ones on target."""
    if self.controller is None or self.cost_model is None:
      return self.net.argmax_choices()
    e = self.expected
    log_probs = [np.log(np.maximum(p, 1e-30)) for p in self.net.probabilities()]
    choices = choices_at_latency(log_probs, [c.numpy() for c in e.per_op], e.fixed,
                                 self.controller.target, DERIVE_TOLERANCE, scale=e.model.scale,
                                 offset=e.model.offset)
    argmax = self.net.argmax_choices()
    if choices != argmax:
      differ = sum(a != b for a, b in zip(choices, argmax))
      self.log(f"requested latency: the argmax architecture predicts "
               f"{e.of_choices(argmax):.3f} {self.cost_model.unit}; derived the most probable one "
               f"within {DERIVE_TOLERANCE:.1%} of {self.controller.target:.3f} instead ({differ} of "
               f"{len(argmax)} "
               "decisions differ)")
    return choices

  def _rerank(self, choices: list[int], steps: int):
    """(choices, candidates, kept index): search/rerank.py over the derived net and nets of its
    cost; the derived net alone when re-ranking is off or the search stopped before its end."""
    from proxyless_tf.search.rerank import Reranker, draw_candidates, rerank_table
    c = self.config
    if c.rerank_candidates < 2:
      return choices, None, None
    if steps < self.total_steps:
      self.log(f"re-ranking skipped: the search stopped at step {steps} of {self.total_steps}")
      return choices, None, None
    cost_of = None if self.cost_model is None else self.expected.of_choices
    anchor = None if self.controller is None else self.controller.target
    candidates = draw_candidates(self.net.probabilities(), choices, c.rerank_candidates, cost_of,
                                 seed=c.seed, anchor=anchor)
    if len(candidates) < c.rerank_candidates:
      of = "the requested cost" if anchor else "the derived net's cost"
      self.log(f"re-ranking: the learned distribution holds {len(candidates)} distinct nets within "
               f"3% of {of} (asked for {c.rerank_candidates})")
    if len(candidates) < 2:
      return choices, None, None
    reranker = Reranker(self.data.source, c.out, c.rerank_epochs, c.rerank_seeds,
                        c.rerank_train_examples, c.rerank_valid_examples, seed=c.seed,
                        strategy=self.strategy, dtype_policy=c.dtype_policy, chief=self.chief,
                        log=self.log)
    best = reranker.run(candidates, self.space)
    unit = None if self.cost_model is None else self.cost_model.unit
    self.log(rerank_table(candidates, best, unit))
    kept = candidates.index(best)
    gain = 100 * (best.score - candidates[0].score)
    self.log("re-ranking kept the search's own net" if kept == 0 else
             f"re-ranking kept net {kept}: {gain:+.2f} points of held-out accuracy over the "
             "search's own net (a short training's ranking is noisy: BENCHMARKS.md \"Re-ranking\")")
    return best.choices, candidates, kept

  def _finish(self, history, steps: int) -> SearchResult:
    from proxyless_tf.search.draw import draw_arch
    choices, candidates, kept = self._rerank(self._derive(), steps)
    arch = self.space.derive(choices, name=f"{self.space.name}_searched")
    arch_path = os.path.join(self.config.out, "arch.json")
    png_path = os.path.join(self.config.out, "arch.png")
    predicted = None
    if self.cost_model is not None:
      predicted = self.cost_model.predict(arch)
    if self.chief:
      save_arch(arch, arch_path)
      family = family_of(arch)
      if family.search_writes_original:  # and in the original code's format
        atomic_write_text(os.path.join(self.config.out, "net_original.config"),
                          json.dumps(family.to_original(arch), indent=1) + "\n")
      draw_arch(arch, png_path, title=f"{arch.name}" + (
          "" if predicted is None else f" - predicted {predicted:.2f} {self.cost_model.unit}"))
    self.log(format_table(arch))
    if predicted is not None:
      self.log(f"predicted latency ({self.cost_model.name}): {predicted:.3f} {self.cost_model.unit}")
    if predicted is not None and self.controller is not None:
      error = 100 * self.controller.relative_error(predicted)
      verdict = "within" if abs(error) <= 3 else "OUTSIDE"
      ratio_note = ""
      if self.request["ratio"] is not None:
        ratio_note = (f" = {self.request['ratio']:g}x / {predicted / self.request['reference']:.3f}x"
                      " the reference net")
      self.log(f"requested {self.controller.target:.3f} {self.cost_model.unit}, predicted "
               f"{predicted:.3f} ({error:+.1f}%: {verdict} +-3%){ratio_note}")
    latency_check = None
    if predicted is not None and self.config.verify_latency and self.chief:
      from proxyless_tf.latency.side_by_side import verify_on_host
      latency_check = verify_on_host(arch, self.space.reference_arch(), self.cost_model,
                                     self.request, log=self.log)
      if latency_check is not None:
        atomic_write_text(os.path.join(self.config.out, "latency_check.json"),
                          json.dumps(latency_check, indent=2) + "\n")
    ratio, assessment = distribution_verdict(self.net.probabilities(),
                                             len(candidates) if candidates else 0)
    self.log(assessment)
    rows = self._write_history()  # whole again even when this process ran no epoch
    if history:
      history = rows
    self.log(f"wrote {arch_path} and {png_path}; retrain with: python -m proxyless_tf.train "
             f"--arch={arch_path} --dataset={self.config.dataset}")
    return SearchResult(arch_path, png_path, arch, predicted, steps, history, ratio, candidates,
                        kept, latency_check)
