"""Parameters and multiply-adds of a net of any family, counted from its config alone (no
TensorFlow) by its family (`Family.totals`, `Family.format_table`).

MACs count convolutions and the classifier, the convention of the ProxylessNAS paper (BN, ReLU6,
residual adds and pooling are not counted). Parameters follow Keras: `trainable` excludes the BN
moving statistics, `total` includes them.
"""

from __future__ import annotations


def totals(config) -> dict[str, int]:
  """{"trainable_params", "total_params", "macs"} of a net of any family."""
  from proxyless_tf.families import family_of
  return family_of(config).totals(config)


def total_line(config) -> str:
  """The last line of every family's table: parameters (without and with BN statistics), MACs."""
  t = totals(config)
  return (f"total: {t['trainable_params']:,} trainable params ({t['total_params']:,} with BN "
          f"statistics), {t['macs'] / 1e6:.1f}M MACs")


def format_table(config) -> str:
  """The per-layer table of a net of any family, as `python -m proxyless_tf.arch show` prints it."""
  from proxyless_tf.families import family_of
  return family_of(config).format_table(config)
