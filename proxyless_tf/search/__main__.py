"""`python -m proxyless_tf.search --target=mobile` (or `--flagfile=flags/quickstart.flags`).

`--target=T` fills every flag not given on the command line from `flags/T.flags`, so a target
brings its latency table, reference latency and run defaults; explicit flags always win.
"""

from __future__ import annotations

from absl import flags

from proxyless_tf.errors import UserError
from proxyless_tf.search.runner import SearchRun
from proxyless_tf.utils import search_flags
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.search_flags import (apply_target_defaults, cost_model_from_flags,
                                             define_search_flags, search_config_from_flags)

FLAGS = flags.FLAGS
define_search_flags()
flags.adopt_module_key_flags(search_flags)  # --help lists them


def main(argv):
  if len(argv) > 1:
    raise UserError(f"unexpected arguments {argv[1:]}; all options are --flags")
  apply_target_defaults(FLAGS.target)
  from proxyless_tf.utils.strategy import split_host_cpu
  split_host_cpu(FLAGS.cpu_devices)  # before anything starts TensorFlow's runtime
  if FLAGS.deterministic:
    from proxyless_tf.utils.determinism import enable_determinism
    enable_determinism()
  config = search_config_from_flags()
  config.validate()
  cost_model = cost_model_from_flags()
  if cost_model is not None and cost_model.notice:
    print(f"notice: {cost_model.notice}")
  SearchRun(config, cost_model).run(resume=FLAGS.resume)


if __name__ == "__main__":
  run_main(main)
