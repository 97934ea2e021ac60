"""A tree-cell net as a figure: one row per block, one cell per edge."""

from __future__ import annotations

from proxyless_tf.search.draw import plt, save_figure

OP_COLORS = {"sep": "#8fbf6f", "conv": "#9fa8da", "max": "#f2b35e", "avg": "#e9d46b",
             "identity": "#dddddd"}


def draw_tree_arch(config, path: str, title: str | None = None) -> None:
  """A tree-cell net as a grid: one row per block, one cell per edge (depth first, the root's
  grouped conv first), coloured by op kind and labelled with the op."""
  rows = [[edge.op for _, edge in block.cell.edge_list()] for block in config.blocks]
  columns = max(len(r) for r in rows)
  fig, ax = plt.subplots(figsize=(max(5.0, 0.62 * columns + 1.5), 0.22 * len(rows) + 1.2))
  for y, (block, ops) in enumerate(zip(config.blocks, rows)):
    for x, op in enumerate(ops):
      kind = op.split("_")[0]
      ax.add_patch(plt.Rectangle((x, -y), 0.95, 0.9, fc=OP_COLORS.get(kind, "#cccccc"),
                                 ec="#333333" if x == 0 and block.stride == 2 else "none"))
      ax.text(x + 0.47, -y + 0.45, op.replace("_", "\n", 1), ha="center", va="center",
              fontsize=3.5)
    ax.text(-0.2, -y + 0.45, f"{block.width}", ha="right", va="center", fontsize=4)
  ax.set_xlim(-1.2, columns + 0.2)
  ax.set_ylim(-len(rows), 1.2)
  ax.axis("off")
  ax.set_title(title or config.name, fontsize=8)
  save_figure(fig, path)
