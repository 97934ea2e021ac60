"""Makes the fixtures of tests/test_tree_weights.py (run by hand, once; needs torch).

  python tests/data/pytorch_tree/make_fixtures.py config          # the project's venv
  pip install "torch==2.13.0+cpu" numpy                             # another venv
  git clone https://github.com/mit-han-lab/proxylessnas /tmp/proxylessnas
  python tests/data/pytorch_tree/make_fixtures.py torch --original=/tmp/proxylessnas

A reduced-width PyramidTreeNet (2 blocks per stage, widths 8 ... 20, 32x32x3 inputs, 10 classes)
whose cells hold every edge kind of the family (depthwise-separable 3/5/7, dilated 3x3, 1x1 conv,
identity, max and average pooling; the root's grouped conv with channel shuffle; stride-2 blocks
with the pooled shortcut and zero channels appended). Step 1 writes it in the original code's
JSON; step 2 builds it with the original code, randomises weights and BN statistics (so a mapping
error shows), saves the state dict in torch's legacy format (as the released checkpoints) and
the logits of 4 inputs (NCHW).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "tiny_tree.config")
OPS = ("sep_3x3", "sep_5x5", "sep_7x7", "sep_3x3_d2", "conv_1x1", "identity", "max_3x3",
       "avg_3x3")


def write_config():
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
  from proxyless_tf.families.pyramid_tree.original import to_original
  from proxyless_tf.families.pyramid_tree.presets import pyramid_tree_net
  cells = [[OPS[(b * 3 + e) % len(OPS)] for e in range(14)] for b in range(6)]
  config = pyramid_tree_net(cells, "tiny_tree", blocks_per_stage=2, start=8, alpha=12)
  with open(CONFIG, "w") as f:
    json.dump(to_original(config), f, indent=1)


def make_torch(repo):
  import torch
  sys.path.insert(0, repo)
  from proxyless_nas.cifar_modules import PyramidTreeNet
  with open(CONFIG) as f:
    net = PyramidTreeNet.build_from_config(json.load(f))
  sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pytorch"))
  from make_fixtures import randomise  # the MobileNetV2 fixtures' BN randomisation
  randomise(net, seed=0)
  x = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 3, 32, 32)).astype(np.float32))
  with torch.no_grad():
    logits = net(x).numpy()
  torch.save({"state_dict": net.state_dict()}, os.path.join(HERE, "tiny_tree.pth"),
             _use_new_zipfile_serialization=False)
  np.save(os.path.join(HERE, "inputs_nchw.npy"), x.numpy())
  np.save(os.path.join(HERE, "logits.npy"), logits)
  print("params", sum(p.numel() for p in net.parameters()), "logits", logits[0, :3])


if __name__ == "__main__":
  parser = argparse.ArgumentParser()
  parser.add_argument("step", choices=("config", "torch"))
  parser.add_argument("--original", default="/tmp/proxylessnas")
  args = parser.parse_args()
  write_config() if args.step == "config" else make_torch(args.original)
