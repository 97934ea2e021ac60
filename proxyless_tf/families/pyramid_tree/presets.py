"""Published tree-cell networks as data: the Proxyless-G CIFAR-10 net (ProxylessNAS, Table 2:
2.08% test error with cutout, 5.7M parameters).

Read from the released `proxyless_cifar.config` (han-cai/files, `proxylessnas/`): 54 residual tree
blocks, 18 per stage at 32x32, 16x16 and 8x8, PyramidNet widths 18 ... 100 (`pyramid_widths`), each
cell the `binary_cell` shape with the 14 searchable edges listed below (depth first, per block).
`tests/test_tree_arch.py` checks this table against the released file, field by field.
"""

from __future__ import annotations

from proxyless_tf.families.pyramid_tree.config import (TreeBlock, TreeNetConfig, binary_cell,
                                                       pyramid_widths)

PROXYLESS_G_CELLS = (
    "identity sep_7x7 sep_3x3_d2 identity max_3x3 sep_7x7 max_3x3 identity sep_5x5 sep_5x5 sep_5x5 sep_3x3_d2 sep_7x7 sep_7x7",
    "identity avg_3x3 avg_3x3 avg_3x3 identity sep_3x3 identity identity max_3x3 sep_3x3_d2 identity sep_7x7 sep_3x3_d2 sep_3x3_d2",
    "identity sep_7x7 sep_3x3 avg_3x3 identity sep_5x5 avg_3x3 identity sep_3x3 sep_3x3 avg_3x3 sep_3x3_d2 sep_3x3_d2 sep_5x5",
    "identity avg_3x3 sep_5x5 sep_3x3_d2 sep_5x5 sep_3x3 sep_3x3_d2 identity sep_3x3_d2 sep_7x7 sep_3x3 sep_7x7 identity sep_7x7",
    "identity avg_3x3 sep_5x5 sep_3x3_d2 identity sep_3x3_d2 sep_5x5 identity sep_7x7 sep_7x7 avg_3x3 max_3x3 identity max_3x3",
    "identity sep_7x7 sep_7x7 max_3x3 max_3x3 sep_3x3 sep_5x5 identity avg_3x3 sep_3x3_d2 sep_3x3 sep_7x7 identity identity",
    "identity sep_3x3_d2 identity max_3x3 max_3x3 sep_7x7 sep_7x7 identity sep_7x7 sep_5x5 sep_3x3 sep_7x7 identity identity",
    "identity sep_3x3_d2 sep_5x5 sep_7x7 sep_3x3_d2 sep_5x5 sep_7x7 identity max_3x3 avg_3x3 avg_3x3 sep_5x5 sep_3x3 sep_7x7",
    "identity sep_7x7 sep_5x5 max_3x3 sep_3x3_d2 identity identity identity max_3x3 sep_3x3 avg_3x3 max_3x3 avg_3x3 sep_3x3_d2",
    "identity sep_5x5 sep_3x3 identity identity sep_3x3 sep_7x7 identity sep_3x3 sep_5x5 sep_7x7 identity sep_5x5 sep_7x7",
    "identity sep_7x7 sep_7x7 sep_5x5 avg_3x3 sep_3x3 sep_5x5 identity sep_3x3_d2 avg_3x3 sep_3x3_d2 identity sep_3x3_d2 sep_3x3",
    "identity sep_5x5 avg_3x3 sep_5x5 sep_3x3_d2 sep_3x3 sep_3x3 identity avg_3x3 sep_7x7 sep_7x7 sep_5x5 sep_3x3_d2 sep_3x3",
    "identity max_3x3 sep_7x7 sep_3x3 max_3x3 sep_7x7 sep_3x3_d2 identity sep_3x3 avg_3x3 sep_5x5 max_3x3 sep_7x7 identity",
    "identity sep_3x3 max_3x3 sep_3x3_d2 sep_7x7 sep_7x7 sep_3x3_d2 identity sep_5x5 identity sep_3x3 sep_3x3_d2 sep_7x7 sep_3x3",
    "identity sep_3x3_d2 max_3x3 sep_3x3 avg_3x3 sep_3x3_d2 sep_3x3_d2 identity avg_3x3 sep_5x5 identity identity sep_5x5 identity",
    "identity sep_5x5 sep_3x3_d2 sep_5x5 identity avg_3x3 avg_3x3 identity sep_3x3_d2 sep_5x5 sep_5x5 sep_5x5 sep_7x7 sep_3x3",
    "identity sep_7x7 sep_5x5 sep_5x5 sep_5x5 sep_3x3_d2 sep_3x3 identity identity max_3x3 sep_7x7 sep_3x3_d2 sep_3x3 sep_7x7",
    "identity max_3x3 identity identity sep_3x3_d2 sep_3x3 identity identity sep_7x7 sep_5x5 sep_7x7 max_3x3 identity sep_3x3_d2",
    "identity sep_3x3_d2 sep_5x5 avg_3x3 max_3x3 avg_3x3 sep_7x7 identity sep_5x5 sep_7x7 sep_3x3 avg_3x3 avg_3x3 max_3x3",
    "identity sep_7x7 identity sep_7x7 sep_3x3_d2 identity sep_7x7 identity sep_3x3_d2 sep_3x3 sep_7x7 max_3x3 max_3x3 sep_5x5",
    "identity max_3x3 avg_3x3 sep_3x3 sep_3x3_d2 identity sep_3x3_d2 identity max_3x3 max_3x3 sep_5x5 max_3x3 identity avg_3x3",
    "identity sep_3x3_d2 sep_7x7 sep_3x3 avg_3x3 avg_3x3 sep_3x3 identity sep_3x3 sep_7x7 identity avg_3x3 sep_3x3_d2 sep_3x3_d2",
    "identity sep_3x3_d2 max_3x3 avg_3x3 max_3x3 sep_7x7 identity identity sep_7x7 sep_3x3_d2 identity sep_3x3_d2 avg_3x3 max_3x3",
    "identity sep_7x7 max_3x3 sep_7x7 sep_5x5 max_3x3 identity identity max_3x3 avg_3x3 sep_3x3_d2 identity max_3x3 sep_7x7",
    "identity identity avg_3x3 sep_5x5 sep_5x5 max_3x3 sep_5x5 identity sep_3x3_d2 sep_7x7 avg_3x3 sep_3x3_d2 sep_3x3_d2 max_3x3",
    "identity sep_3x3 avg_3x3 sep_3x3_d2 identity sep_3x3_d2 sep_3x3_d2 identity sep_3x3_d2 avg_3x3 avg_3x3 sep_3x3 avg_3x3 sep_3x3",
    "identity sep_3x3_d2 max_3x3 sep_7x7 sep_7x7 identity max_3x3 identity max_3x3 sep_5x5 sep_5x5 max_3x3 sep_5x5 sep_3x3_d2",
    "identity sep_3x3 sep_7x7 sep_3x3 sep_7x7 avg_3x3 identity identity max_3x3 sep_3x3 sep_7x7 sep_7x7 max_3x3 max_3x3",
    "identity sep_7x7 sep_7x7 sep_7x7 sep_5x5 avg_3x3 sep_3x3 identity sep_3x3 identity sep_3x3_d2 sep_3x3 avg_3x3 sep_3x3",
    "identity sep_5x5 avg_3x3 identity identity avg_3x3 sep_5x5 identity avg_3x3 sep_3x3 avg_3x3 sep_7x7 avg_3x3 max_3x3",
    "identity identity avg_3x3 sep_3x3_d2 sep_3x3 identity sep_7x7 identity identity sep_7x7 max_3x3 avg_3x3 identity sep_3x3_d2",
    "identity sep_7x7 sep_5x5 identity max_3x3 sep_7x7 sep_3x3_d2 identity max_3x3 sep_3x3_d2 max_3x3 sep_7x7 sep_7x7 sep_7x7",
    "identity sep_3x3 max_3x3 sep_3x3 sep_7x7 identity sep_3x3 identity sep_5x5 identity sep_3x3 sep_3x3 sep_5x5 identity",
    "identity sep_3x3_d2 sep_3x3_d2 sep_3x3 sep_7x7 sep_3x3_d2 sep_7x7 identity sep_3x3 sep_3x3 sep_3x3_d2 identity max_3x3 identity",
    "identity max_3x3 identity sep_5x5 identity sep_5x5 avg_3x3 identity sep_3x3 avg_3x3 identity sep_7x7 avg_3x3 sep_3x3_d2",
    "identity sep_7x7 sep_7x7 sep_5x5 max_3x3 sep_3x3_d2 avg_3x3 identity sep_7x7 sep_7x7 sep_5x5 sep_3x3 sep_5x5 sep_5x5",
    "identity avg_3x3 avg_3x3 avg_3x3 avg_3x3 sep_3x3_d2 avg_3x3 identity sep_7x7 sep_5x5 identity identity identity avg_3x3",
    "identity max_3x3 identity avg_3x3 sep_7x7 sep_5x5 identity identity identity avg_3x3 identity identity sep_7x7 identity",
    "identity sep_3x3_d2 sep_7x7 max_3x3 sep_3x3 identity sep_5x5 identity avg_3x3 sep_3x3 identity identity max_3x3 avg_3x3",
    "identity sep_7x7 avg_3x3 sep_5x5 sep_7x7 avg_3x3 sep_3x3 identity max_3x3 avg_3x3 sep_3x3 identity max_3x3 max_3x3",
    "identity identity avg_3x3 sep_7x7 identity identity sep_7x7 identity identity avg_3x3 sep_5x5 max_3x3 avg_3x3 sep_7x7",
    "identity sep_3x3_d2 sep_5x5 identity identity max_3x3 sep_5x5 identity sep_7x7 sep_3x3_d2 sep_7x7 sep_5x5 identity sep_3x3_d2",
    "identity max_3x3 identity avg_3x3 max_3x3 avg_3x3 max_3x3 identity sep_3x3_d2 identity sep_5x5 avg_3x3 sep_3x3 identity",
    "identity sep_7x7 sep_5x5 sep_7x7 sep_7x7 sep_7x7 avg_3x3 identity sep_3x3_d2 sep_3x3 max_3x3 sep_7x7 sep_7x7 avg_3x3",
    "identity sep_3x3_d2 sep_3x3_d2 max_3x3 avg_3x3 sep_3x3_d2 sep_3x3 identity sep_7x7 identity sep_3x3_d2 sep_3x3_d2 max_3x3 sep_5x5",
    "identity avg_3x3 avg_3x3 max_3x3 sep_3x3_d2 sep_3x3 max_3x3 identity sep_3x3_d2 sep_7x7 sep_3x3_d2 identity avg_3x3 identity",
    "identity max_3x3 avg_3x3 sep_7x7 max_3x3 sep_3x3 sep_3x3 identity sep_5x5 avg_3x3 identity sep_3x3_d2 identity sep_3x3",
    "identity sep_5x5 sep_7x7 sep_3x3_d2 sep_3x3_d2 identity max_3x3 identity max_3x3 sep_3x3 sep_5x5 sep_7x7 max_3x3 identity",
    "identity sep_7x7 sep_3x3 max_3x3 sep_7x7 sep_3x3_d2 avg_3x3 identity max_3x3 max_3x3 max_3x3 sep_5x5 sep_5x5 max_3x3",
    "identity max_3x3 identity avg_3x3 sep_5x5 sep_3x3_d2 sep_3x3 identity sep_5x5 sep_7x7 sep_3x3 sep_3x3 sep_7x7 sep_7x7",
    "identity identity avg_3x3 sep_5x5 sep_3x3 sep_7x7 sep_7x7 identity identity sep_7x7 sep_7x7 sep_7x7 sep_3x3 avg_3x3",
    "identity sep_5x5 sep_5x5 sep_3x3 max_3x3 avg_3x3 identity identity sep_5x5 avg_3x3 max_3x3 sep_5x5 sep_5x5 identity",
    "identity sep_3x3 sep_3x3_d2 sep_3x3 max_3x3 max_3x3 avg_3x3 identity identity max_3x3 sep_3x3_d2 sep_7x7 sep_3x3 sep_3x3",
    "identity sep_7x7 sep_3x3 max_3x3 sep_7x7 sep_5x5 identity identity sep_5x5 max_3x3 sep_3x3 max_3x3 sep_3x3 sep_7x7",
)


def pyramid_tree_net(cells, name: str, blocks_per_stage: int, start: int = 16, alpha: float = 84,
                     depth: int = 3, input_size: int = 32, input_channels: int = 3,
                     num_classes: int = 10, bottleneck: int = 4) -> TreeNetConfig:
  """A PyramidTreeNet of 3 stages (stride 2 at the first block of stages 2 and 3) whose block i
  has the cell `binary_cell(width_i, stride_i, cells[i], depth)`."""
  count = 3 * blocks_per_stage
  widths = pyramid_widths(count, start, alpha)
  blocks = []
  for i, (width, ops) in enumerate(zip(widths, cells, strict=True)):
    stride = 2 if i in (blocks_per_stage, 2 * blocks_per_stage) else 1
    blocks.append(TreeBlock(width=width, filters=bottleneck * width, stride=stride,
                            cell=binary_cell(width, stride, ops, depth)))
  return TreeNetConfig(blocks=tuple(blocks), name=name, input_size=input_size,
                       input_channels=input_channels, num_classes=num_classes, stem_filters=start)


def proxyless_cifar() -> TreeNetConfig:
  return pyramid_tree_net([line.split() for line in PROXYLESS_G_CELLS], "proxyless_cifar", 18)
