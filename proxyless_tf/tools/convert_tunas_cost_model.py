"""Converts TuNAS's Pixel-1 latency model of the ProxylessNAS space into a latency table.

  python -m proxyless_tf.tools.convert_tunas_cost_model --tunas_data=PATH/tunas/cost_model_data.py \
      --out=tables/pixel1_tunas_proxyless_224.json

PATH is a checkout of google-research/google-research. The table is for `--space=proxyless_tunas`
(TuNAS's `proxylessnas_search`: the paper's space with a 32-channel first stage) at 224x224,
1000 classes; it prices every architecture exactly as TuNAS's model does (see
`proxyless_tf/latency/tunas.py`), and keeps the model's raw coefficients in its metadata.
"""

from __future__ import annotations

import time

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import command_line, run_main

FLAGS = flags.FLAGS
flags.DEFINE_string("tunas_data", None, "TuNAS's tunas/cost_model_data.py (google-research).")
flags.DEFINE_string("tunas_commit", "0c1bbe5fc971a1de1a427debc814e66ab4f1e7fa",
                    "google-research commit the file is from (recorded in the metadata).")
flags.DEFINE_string("out", None, "Table JSON to write.")


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}")
  if not FLAGS.tunas_data or not FLAGS.out:
    raise UserError("--tunas_data=PATH/tunas/cost_model_data.py and --out=TABLE.json are required")
  from proxyless_tf.latency.table_space import space_metadata
  from proxyless_tf.latency.table import TableCostModel
  from proxyless_tf.latency.tunas import SSD, read_cost_model_data, tunas_table
  from proxyless_tf.space.space import get_space
  space = get_space("proxyless_tunas")
  kernel, bias = read_cost_model_data(FLAGS.tunas_data)
  metadata = {
      "device": "android: Google Pixel 1 (TuNAS's linear model of measured latencies)",
      "cpu": "Snapdragon 821", "runtime": "TFLite (TuNAS's measurements)", "threads": 1,
      "delegate": "none", "precision": "float", "estimated": False,
      "derived_from": {
          "repository": "https://github.com/google-research/google-research",
          "commit": FLAGS.tunas_commit,
          "files": ["tunas/cost_model_data.py", "tunas/cost_model_lib.py",
                    "tunas/mobile_cost_model.py", "tunas/mobile_search_space_v3.py"],
          "search_space": SSD,
          "what": "a linear model of Pixel-1 inference time (ms) over one-hot decision features, "
                  "fit by the TuNAS authors to latencies measured on Pixel 1 phones (Bender, Liu "
                  "et al., 'Can weight sharing outperform random architecture search?', CVPR "
                  "2020); their unit test expects 84 +- 1 ms for its reference architecture",
          "license": "Apache-2.0",
          "differences": "TuNAS searches the first block's kernel (a separable conv, k3/5/7); "
                         "this space fixes it at k3 (its k3 coefficient is in the constant). "
                         "TuNAS uses ReLU, the ProxylessNAS nets ReLU6.",
      },
      "model": "block entries are per position (block:N/KEY); the constant (bias + shifts) is "
               "on the stem entry; head and logits entries are 0",
      "tunas_model": {"kernel": [float(v) for v in kernel], "bias": bias},
      **space_metadata(space), "date": time.strftime("%Y-%m-%d"),
      "command": command_line()}
  table = tunas_table(kernel, bias, space, metadata)
  table.save(FLAGS.out)
  model = TableCostModel(table)
  from proxyless_tf.arch import get_preset
  mobile = get_preset("proxyless_mobile")
  print(f"wrote {FLAGS.out}: {len(table.entries)} entries; proxyless_mobile "
        f"{model.predict(mobile):.1f} ms (TuNAS's model)")


if __name__ == "__main__":
  run_main(main)
