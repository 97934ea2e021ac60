"""A MobileNetV3-style net as a figure: one box per block, its width the expansion, its colour
the kernel; SE blocks are outlined and h-swish blocks hatched."""

from __future__ import annotations

from proxyless_tf.search.draw import plt, save_figure

KERNEL_COLORS = {3: "#9fa8da", 5: "#8fbf6f", 7: "#f2b35e"}


def draw_v3_arch(config, path: str, title: str | None = None) -> None:
  fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(config.blocks) + 1.5), 2.4))
  for x, block in enumerate(config.blocks):
    if block.is_zero:
      ax.text(x + 0.45, 0.1, "zero", ha="center", fontsize=5, color="#777777")
      continue
    height = block.expand_ratio / 6
    ax.add_patch(plt.Rectangle((x, 0), 0.9, height, fc=KERNEL_COLORS.get(block.kernel_size,
                                                                        "#cccccc"),
                               ec="#222222" if block.se else "none",
                               hatch="///" if block.activation == "hswish" else None, lw=0.8))
    ax.text(x + 0.45, height + 0.03, f"k{block.kernel_size}\ne{block.expand_ratio:g}",
            ha="center", va="bottom", fontsize=4.5)
    ax.text(x + 0.45, -0.08, str(block.filters), ha="center", va="top", fontsize=4.5)
  ax.set_xlim(-0.3, len(config.blocks) + 0.2)
  ax.set_ylim(-0.3, 1.5)
  ax.axis("off")
  ax.set_title((title or config.name) + "  (outline: SE, hatched: h-swish)", fontsize=8)
  save_figure(fig, path)
