"""An MBConv net drawn like the paper's figure of specialized nets: one box per block, width by
expand ratio, height by kernel size, colour by kernel; zero blocks as thin gaps."""

from __future__ import annotations

from matplotlib.patches import FancyBboxPatch

from proxyless_tf.search.draw import plt, save_figure

KERNEL_COLORS = {3: "#8fbf6f", 5: "#f2b35e", 7: "#e06666"}


def draw_mbconv_arch(config, path: str, title: str | None = None) -> None:
  blocks = config.blocks
  fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(blocks) + 2), 3.2))
  x = 0.0
  ax.add_patch(FancyBboxPatch((x, -0.5), 0.6, 1.0, boxstyle="round,pad=0.02", fc="#cccccc"))
  ax.text(x + 0.3, 0, "Conv\n3x3", ha="center", va="center", fontsize=6)
  x += 0.9
  for block, (res, _) in zip(blocks, config.block_inputs()):
    if block.is_zero:
      ax.plot([x, x + 0.15], [0, 0], color="#999999", lw=1)
      x += 0.3
      continue
    width = 0.25 + 0.07 * block.expand_ratio
    height = 0.4 + 0.12 * block.kernel_size
    color = KERNEL_COLORS.get(block.kernel_size, "#9fa8da")
    ax.add_patch(FancyBboxPatch((x, -height / 2), width, height, boxstyle="round,pad=0.02",
                                fc=color, ec="#333333" if block.stride == 2 else color, lw=1.2))
    ax.text(x + width / 2, 0, f"MB{block.expand_ratio}\n{block.kernel_size}x{block.kernel_size}",
            ha="center", va="center", fontsize=6, rotation=90)
    ax.text(x + width / 2, -height / 2 - 0.15, str(block.filters), ha="center", va="top", fontsize=5)
    x += width + 0.12
  ax.add_patch(FancyBboxPatch((x, -0.5), 0.6, 1.0, boxstyle="round,pad=0.02", fc="#cccccc"))
  ax.text(x + 0.3, 0, "head\n+FC", ha="center", va="center", fontsize=6)
  ax.set_xlim(-0.2, x + 0.9)
  ax.set_ylim(-1.4, 1.4)
  ax.axis("off")
  handles = [plt.Rectangle((0, 0), 1, 1, fc=c) for c in KERNEL_COLORS.values()]
  ax.legend(handles, [f"{k}x{k}" for k in KERNEL_COLORS], loc="upper right", fontsize=6, ncol=3,
            frameon=False)
  ax.set_title(title or config.name, fontsize=8)
  save_figure(fig, path)
