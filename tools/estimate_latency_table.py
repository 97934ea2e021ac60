"""Writes an ESTIMATED latency table for a Pixel-1-class phone (no phone needed).

  python tools/estimate_latency_table.py --space=proxyless --out=tables/pixel1_estimated_proxyless_224.json

Per-op cost = MACs / rate + bytes / bandwidth + layers * overhead, constants fit to published
Pixel 1 TFLite float latencies (MobileNetV2 1.0: 75 ms, 1.4: 143 ms, ProxylessNAS-mobile: 78 ms).
The table says it is an estimate; measure a real phone with tools/build_latency_table.py.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags  # noqa: E402

from proxyless_tf.errors import UserError  # noqa: E402
from proxyless_tf.utils.cli import run_main  # noqa: E402
from proxyless_tf.utils import space_flags  # noqa: E402
from proxyless_tf.utils.space_flags import define_space_flags, space_from_flags  # noqa: E402

FLAGS = flags.FLAGS
define_space_flags("proxyless")
flags.adopt_module_key_flags(space_flags)  # --help lists --space and the shape overrides
flags.DEFINE_string("out", None, "Table JSON to write.")


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}")
  if not FLAGS.out:
    raise UserError("--out=TABLE.json is required")
  from proxyless_tf.latency.builder import space_metadata
  from proxyless_tf.latency.estimate import (PIXEL1_CALIBRATION, PIXEL1_REFERENCE_MS,
                                             arch_features, calibration_arch, fit_constants,
                                             op_latency)
  from proxyless_tf.latency.ops import all_space_ops
  from proxyless_tf.latency.table import LatencyTable, model_entry
  space = space_from_flags()
  constants = fit_constants()
  entries = {}
  for op in all_space_ops(space):
    ms = op_latency(op, constants)
    entries[op.key] = model_entry(ms)
  fit = {name: {"published_ms": ms,
                "estimated_ms": round(float(arch_features(calibration_arch(name)) @ constants), 3)}
         for name, ms in PIXEL1_CALIBRATION}
  metadata = {"device": "android: Pixel 1 class (ESTIMATED, not measured)",
              "cpu": "Snapdragon 821 class", "runtime": "TFLite float (published numbers)",
              "threads": 1, "delegate": "none", "precision": "float", "estimated": True,
              "model": "cost = MACs * ms_per_mac + bytes * ms_per_byte + layers * ms_per_layer",
              "constants": {"ms_per_mac": constants[0], "ms_per_byte": constants[1],
                            "ms_per_layer": constants[2]},
              "calibration_points": fit, "reference_latency_ms": PIXEL1_REFERENCE_MS,
              **space_metadata(space), "date": time.strftime("%Y-%m-%d"),
              "command": " ".join(sys.argv)}
  LatencyTable(metadata, entries).save(FLAGS.out)
  print(f"wrote {FLAGS.out}: {len(entries)} ops (estimated); calibration: "
        + ", ".join(f"{n} {v['published_ms']:.0f} -> {v['estimated_ms']:.1f} ms" for n, v in fit.items()))


if __name__ == "__main__":
  run_main(main)
