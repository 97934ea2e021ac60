"""What a search returns: the found architecture, where it was written, and how sure it is."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class SearchResult:
  arch_path: str
  png_path: str
  config: object
  predicted_latency: float | None
  steps: int
  history: list
  # entropy of the learned distribution / its maximum: near 1, the derived net is about a random
  # one of its cost (search/confidence.py)
  entropy_ratio: float | None = None
  # re-ranking's candidates (search/rerank.py Candidate: choices, origin, cost, held-out scores)
  # and the kept one's index; None when it did not run
  rerank: list | None = None
  rerank_kept: int | None = None
  # the derived net timed next to the reference net on this host (latency/side_by_side.py);
  # None when the target is not this host
  latency_check: dict | None = None

  @property
  def arch(self):
    """The found architecture (the space family's net config)."""
    return self.config
