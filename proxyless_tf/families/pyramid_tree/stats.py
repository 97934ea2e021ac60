"""A tree-cell net's counts as a table: per stage and in total (a tree net has 50+ blocks)."""

from __future__ import annotations

from proxyless_tf.arch.stats import total_line
from proxyless_tf.families.pyramid_tree.config import tree_rows


def tree_totals(config) -> dict[str, int]:
  rows = tree_rows(config)
  return {"trainable_params": sum(r[4] for r in rows), "total_params": sum(r[5] for r in rows),
          "macs": sum(r[6] for r in rows)}


def format_tree_table(config) -> str:
  """Per stage (the blocks between resolution changes) and in total: a tree net has 50+ blocks."""
  rows = tree_rows(config)
  header = f"{'part':<22} {'res':>5} {'in':>5} {'out':>5} {'params':>11} {'MACs':>14}"
  lines = [f"{config.name}: PyramidTreeNet, {config.input_size}x{config.input_size}x"
           f"{config.input_channels} -> {config.num_classes} classes, {len(config.blocks)} tree "
           "blocks", header, "-" * len(header)]
  stages: list[list] = []
  previous = None
  for row, block in zip(rows[1:-1], config.blocks):
    out_res = row[1] // block.stride
    if out_res != previous:
      stages.append([])
    stages[-1].append(row)
    previous = out_res
  parts = [(rows[0][0], rows[0])]
  for s, stage in enumerate(stages):
    first, last = stage[0], stage[-1]
    name = f"stage {s + 1} ({first[0]}..{last[0].split('_')[1]})"
    parts.append((name, (name, first[1], first[2], last[3], sum(r[4] for r in stage),
                         sum(r[5] for r in stage), sum(r[6] for r in stage))))
  parts.append((rows[-1][0], rows[-1]))
  for name, r in parts:
    lines.append(f"{name:<22} {r[1]:>5} {r[2]:>5} {r[3]:>5} {r[4]:>11,} {r[6]:>14,}")
  lines.append("-" * len(header))
  lines.append(total_line(config))
  return "\n".join(lines)
