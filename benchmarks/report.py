"""Writes one benchmark's section into BENCHMARKS.md, replacing that section's earlier version."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS_MD = os.path.join(ROOT, "BENCHMARKS.md")
HEADER = "# Benchmarks\n\nRun by hand; each section says the command that produced it.\n"


def publish(key: str, lines: list[str], path: str = BENCHMARKS_MD) -> None:
  """Prints a benchmark's section and writes it into BENCHMARKS.md."""
  body = "\n".join(lines)
  print(body)
  write_section(key, body, path)


def write_section(key: str, body: str, path: str = BENCHMARKS_MD) -> None:
  begin, end = f"<!-- begin {key} -->", f"<!-- end {key} -->"
  section = f"{begin}\n{body.rstrip()}\n{end}"
  text = open(path).read() if os.path.exists(path) else HEADER
  pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
  text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(text if text.endswith("\n") else text + "\n")
  os.replace(tmp, path)


def host_line() -> str:
  """The host a section's latencies were measured on: CPU name, family / model, fingerprint,
  LiteRT version."""
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import cpu_model
  from proxyless_tf.latency.identity import fingerprint, host_identity
  ident = host_identity()
  return (f"{cpu_model()} (family {ident.get('family')} model {ident.get('model')}, fingerprint "
          f"{fingerprint(ident)}), {litert.runtime_version()}")
