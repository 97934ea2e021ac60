"""Command-line tools around latency tables, each run as `python -m proxyless_tf.tools.NAME`:

  build_latency_table       time every op of a search space on a target (host, phone, GPU)
  estimate_latency_table    a phone table from the 3-constant estimate, when no phone is at hand
  convert_tunas_cost_model  TuNAS's published Pixel-1 cost model as a table of ours

A compiled TFLite model is timed with `python -m proxyless_tf.benchmark`.
"""
