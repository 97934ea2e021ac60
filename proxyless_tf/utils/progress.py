"""A dependency-free progress bar with ETA: redraws in place on a terminal, prints lines otherwise."""

from __future__ import annotations

import sys
import time


def format_seconds(seconds: float) -> str:
  seconds = int(max(0, seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:

  def __init__(self, total: int, desc: str = "", start: int = 0, stream=None, width: int = 24,
               lines: int = 10):
    self.total = max(1, total)
    self.desc = desc
    self.done = start
    self.first = start
    self.stream = stream or sys.stderr
    self.width = width
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self.every = max(1, self.total // lines)
    self.t0 = time.monotonic()

  def update(self, n: int = 1, **postfix) -> None:
    self.done = min(self.total, self.done + n)
    if not self.tty and self.done % self.every and self.done != self.total:
      return
    elapsed = time.monotonic() - self.t0
    rate = (self.done - self.first) / elapsed if elapsed > 0 else 0.0
    eta = (self.total - self.done) / rate if rate > 0 else float("nan")
    filled = int(self.width * self.done / self.total)
    extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in postfix.items())
    line = (f"{self.desc} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
            f"ETA {format_seconds(eta) if eta == eta else '?'} {extra}")
    self.stream.write(("\r" + line.ljust(110)) if self.tty else line + "\n")
    self.stream.flush()

  def close(self) -> None:
    if self.tty:
      self.stream.write("\n")
      self.stream.flush()
