"""Writes an ESTIMATED latency table for a Pixel-1-class phone (no phone needed).

  python -m proxyless_tf.tools.estimate_latency_table --space=proxyless --out=tables/pixel1_estimated_proxyless_224.json

Per-op cost = MACs / rate + bytes / bandwidth + layers * overhead, constants fit to published
Pixel 1 TFLite float latencies (MobileNetV2 1.0: 75 ms, 1.4: 143 ms, ProxylessNAS-mobile: 78 ms).
The table says it is an estimate; measure a real phone with python -m proxyless_tf.tools.build_latency_table.
"""

from __future__ import annotations


from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import command_line, run_main
from proxyless_tf.utils import space_flags
from proxyless_tf.utils.space_flags import define_space_flags, space_from_flags

FLAGS = flags.FLAGS
define_space_flags("proxyless")
flags.adopt_module_key_flags(space_flags)  # --help lists --space and the shape overrides
flags.DEFINE_string("out", None, "Table JSON to write.")


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}")
  if not FLAGS.out:
    raise UserError("--out=TABLE.json is required")
  from proxyless_tf.latency.estimate import estimated_table
  table = estimated_table(space_from_flags(), command=command_line())
  table.save(FLAGS.out)
  entries, fit = table.entries, table.metadata["calibration_points"]
  print(f"wrote {FLAGS.out}: {len(entries)} ops (estimated); calibration: "
        + ", ".join(f"{n} {v['published_ms']:.0f} -> {v['estimated_ms']:.1f} ms" for n, v in fit.items()))


if __name__ == "__main__":
  run_main(main)
