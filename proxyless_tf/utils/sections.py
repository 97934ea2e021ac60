"""One named section of a Markdown file, replaced in place: how each benchmark writes its part of
BENCHMARKS.md (and a hand-run test its own) without touching the others."""

from __future__ import annotations

import os
import re

HEADER = "# Benchmarks\n\nRun by hand; each section says the command that produced it.\n"


def write_section(key: str, body: str, path: str) -> None:
  """Replaces the section `key` of `path` (between `<!-- begin KEY -->` and `<!-- end KEY -->`)
  with `body`, or appends it; atomic, so a killed run leaves the old file."""
  begin, end = f"<!-- begin {key} -->", f"<!-- end {key} -->"
  section = f"{begin}\n{body.rstrip()}\n{end}"
  text = open(path).read() if os.path.exists(path) else HEADER
  pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
  text = (pattern.sub(lambda _: section, text) if pattern.search(text)
          else f"{text.rstrip()}\n\n{section}\n")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(text if text.endswith("\n") else text + "\n")
  os.replace(tmp, path)
