"""A net's figure (`arch.png`), drawn by its family; the figure helpers every family uses."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

def save_figure(fig, path: str) -> None:
  """Writes `fig` as a PNG atomically and closes it."""
  import os
  fig.tight_layout()
  tmp = path + ".tmp.png"
  fig.savefig(tmp, dpi=150)
  plt.close(fig)
  os.replace(tmp, path)


def draw_arch(config, path: str, title: str | None = None) -> None:
  """The net's figure as its family draws it (an MBConv net: `draw_mbconv_arch`)."""
  from proxyless_tf.families import family_of
  family_of(config).draw(config, path, title)
