"""Latency tables measured per op as TFLite on the target, the cost models built on them (expected
latency is differentiable), and their checks. Command line: `python -m proxyless_tf.latency`."""
