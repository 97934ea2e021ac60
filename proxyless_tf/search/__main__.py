"""`python -m proxyless_tf.search --target=mobile` (or `--flagfile=flags/quickstart.flags`).

`--target=T` fills every flag not given on the command line from `flags/T.flags`, so a target
brings its latency table, reference latency and run defaults; explicit flags always win.
"""

from __future__ import annotations

from absl import flags

from proxyless_tf.search.runner import SearchRun
from proxyless_tf.utils import search_flags
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.search_flags import (cost_model_from_flags, define_search_flags,
                                             start_search_command)

FLAGS = flags.FLAGS
define_search_flags()
flags.adopt_module_key_flags(search_flags)  # --help lists them


def main(argv):
  config = start_search_command(argv)
  cost_model = cost_model_from_flags()
  if cost_model is not None and cost_model.notice:
    print(f"notice: {cost_model.notice}")
  SearchRun(config, cost_model).run(resume=FLAGS.resume)


if __name__ == "__main__":
  run_main(main)
