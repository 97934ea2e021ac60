"""A deterministic stand-in for timing an op, importable in measuring processes (spawned):
the entry depends on the op alone; each call leaves the measuring process's pid in a folder."""

import os
import zlib


def fake_entry(op, precision):
  folder = os.environ.get("FAKE_MEASURE_PIDS")
  if folder:
    open(os.path.join(folder, str(os.getpid())), "a").close()
  mean = 0.01 + (zlib.crc32(f"{op.key}/{precision}".encode()) % 1000) / 1000
  return {"mean": mean, "median": mean, "std": 0.001, "count": 30}
