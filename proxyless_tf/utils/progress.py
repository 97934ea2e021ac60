"""Progress of long work: tqdm's bar on a terminal; in a log file (not a terminal) about `lines`
plain lines (done/total, ETA and the latest values), since a redrawn bar is unreadable there."""

from __future__ import annotations

import sys
import time


def format_seconds(seconds: float) -> str:
  seconds = int(max(0, seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _format(postfix: dict) -> str:
  return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in postfix.items())


class Progress:

  def __init__(self, total: int, desc: str = "", start: int = 0, stream=None, lines: int = 10):
    self.total = max(1, total)
    self.desc = desc
    self.done = start
    self.first = start
    self.stream = stream or sys.stderr
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self.every = max(1, self.total // lines)
    self.t0 = time.monotonic()
    self.bar = None
    if self.tty:
      from tqdm import tqdm
      self.bar = tqdm(total=self.total, initial=start, desc=desc, file=self.stream,
                      dynamic_ncols=True, leave=True)

  def update(self, n: int = 1, **postfix) -> None:
    self.done = min(self.total, self.done + n)
    if self.bar is not None:
      self.bar.set_postfix_str(_format(postfix), refresh=False)
      self.bar.update(n)
      return
    if self.done % self.every and self.done != self.total:
      return
    elapsed = time.monotonic() - self.t0
    rate = (self.done - self.first) / elapsed if elapsed > 0 else 0.0
    eta = (self.total - self.done) / rate if rate > 0 else float("nan")
    self.stream.write(f"{self.desc} {self.done}/{self.total} ({100 * self.done // self.total}%) "
                      f"ETA {format_seconds(eta) if eta == eta else '?'} {_format(postfix)}\n")
    self.stream.flush()

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
