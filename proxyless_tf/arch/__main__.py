"""`python -m proxyless_tf.arch show NAME_OR_FILE` and `... convert NAME_OR_FILE --out=FILE`."""

from __future__ import annotations

import json

from absl import flags

from proxyless_tf.arch.io import load_arch, save_arch
from proxyless_tf.arch.stats import format_table
from proxyless_tf.errors import UserError
from proxyless_tf.utils.cli import run_main
from proxyless_tf.utils.files import atomic_write_text

FLAGS = flags.FLAGS
flags.DEFINE_integer("input_size", None, "Override the input resolution.", lower_bound=1)
flags.DEFINE_integer("input_channels", None, "Override the input channels.", lower_bound=1)
flags.DEFINE_integer("num_classes", None, "Override the number of classes.", lower_bound=1)
flags.DEFINE_float("width_mult", 1.0, "Width multiplier (channels rounded to multiples of 8); "
                   "the search's name for it. --width is the same flag.")
flags.DEFINE_alias("width", "width_mult")
flags.DEFINE_string("out", None, "convert: output file.")
flags.DEFINE_enum("format", "json", ["json", "pytorch"],
                  "convert: `json` (proxyless_tf arch JSON) or `pytorch` (the original code's "
                  "net.config, or its PyramidTreeNet JSON for a tree-cell net).")

USAGE = ("usage: python -m proxyless_tf.arch show NAME_OR_FILE | "
         "convert NAME_OR_FILE --out=FILE [--format=json|pytorch]")


def main(argv):
  if len(argv) != 3 or argv[1] not in ("show", "convert"):
    raise UserError(USAGE)
  config = load_arch(argv[2]).with_io(FLAGS.input_size, FLAGS.input_channels,
                                      FLAGS.num_classes).with_width(FLAGS.width_mult)
  if argv[1] == "show":
    print(format_table(config))
    return
  if not FLAGS.out:
    raise UserError("convert needs --out=FILE")
  if FLAGS.format == "pytorch":
    from proxyless_tf.families import family_of
    atomic_write_text(FLAGS.out, json.dumps(family_of(config).to_original(config), indent=4) + "\n")
    if getattr(config, "padding", None) == "same":
      print("note: PyTorch pads strided convs symmetrically; weights trained here with padding "
            "'same' compute a slightly different function there")
  else:
    save_arch(config, FLAGS.out)
  print(f"wrote {FLAGS.out} ({FLAGS.format})")


if __name__ == "__main__":
  run_main(main)
