"""Makes the PyTorch fixtures of tests/test_pytorch_weights.py (run by hand, once; needs torch).

  python tests/data/pytorch/make_fixtures.py config              # the project's venv
  pip install "torch==2.13.0+cpu" pytorchcv                         # another venv
  git clone https://github.com/mit-han-lab/proxylessnas /tmp/proxylessnas
  python tests/data/pytorch/make_fixtures.py torch --original=/tmp/proxylessnas
  python tests/data/pytorch/make_fixtures.py published --out=/tmp/published   # for
      benchmarks/pytorch_parity.py: pytorchcv's four published nets (random weights), not committed

A tiny network with every block kind (stem stride 2, e1 first block, stride-2 k5 e3, residual
k3 e6, a skipped block, stride-2 k7 e3, residual k5 e6) on 32x32x3 inputs, 10 classes, built twice:
by the original ProxylessNAS code (from its `net.config`, saved in torch's legacy format as the
released checkpoints are) and by pytorchcv's `ProxylessNAS` (zip format, as pytorchcv saves).
Random weights and randomised BN statistics (so a BN mapping error shows). Writes, for each:
the checkpoint, the inputs (NCHW) and PyTorch's logits; plus the arch's `net.config`.
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NET_CONFIG = os.path.join(HERE, "tiny.net.config")


def write_net_config():
  """Step 1 (needs proxyless_tf, not torch): the tiny arch as the original code's net.config."""
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
  from proxyless_tf.families.mbconv.config import ArchConfig, Block
  from proxyless_tf.families.mbconv.original import to_pytorch_config
  tiny = ArchConfig(name="tiny_pytorch", input_size=32, input_channels=3, num_classes=10,
                    stem_filters=16, head_filters=64, padding="symmetric", bn_epsilon=1e-3,
                    blocks=(Block(16, 1, 3, 1), Block(24, 2, 5, 3), Block(24, 1, 3, 6),
                            Block(24, 1, type="zero"), Block(32, 2, 7, 3), Block(32, 1, 5, 6)))
  with open(NET_CONFIG, "w") as f:
    json.dump(to_pytorch_config(tiny), f, indent=1)


def randomise(net, seed):
  import torch
  torch.manual_seed(seed)
  for module in net.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
      module.running_mean.uniform_(-0.5, 0.5)
      module.running_var.uniform_(0.5, 2.0)
      module.weight.data.uniform_(0.5, 1.5)
      module.bias.data.uniform_(-0.2, 0.2)
  return net.eval()


def original_net(repo):
  sys.path.insert(0, repo)
  from proxyless_nas.nas_modules import ProxylessNASNets
  with open(NET_CONFIG) as f:
    config = json.load(f)
  net = ProxylessNASNets.build_from_config(json.loads(json.dumps(config)))
  net.set_bn_param(bn_momentum=config["bn"]["momentum"], bn_eps=config["bn"]["eps"])
  return net


def pytorchcv_net():
  import torch
  from pytorchcv.models.proxylessnas import ProxylessNAS
  # stages of the tiny arch; a skipped block is residual=0 (no body), shortcut=1; the first
  # block (16 -> 16, stride 1) has a residual in the original code and here
  net = ProxylessNAS(channels=[[16], [24, 24, 24], [32, 32]], init_block_channels=16,
                      final_block_channels=64, residuals=[[1], [1, 1, 0], [1, 1]],
                      shortcuts=[[1], [0, 1, 1], [0, 1]], kernel_sizes=[[3], [5, 3, 3], [7, 5]],
                      expansions=[[1], [3, 6, 6], [3, 6]], bn_eps=1e-3, in_channels=3,
                      in_size=(32, 32), num_classes=10)
  # pytorchcv pools with a fixed 7x7 window (global at 224x224); global here too, at 4x4
  net.features.final_pool = torch.nn.AdaptiveAvgPool2d(1)
  return net


def write_published(out):
  """pytorchcv's proxylessnas_{mobile,cpu,gpu,mobile14} at 224, random weights and BN statistics:
  state dict, 2 inputs (NCHW) and PyTorch's logits each."""
  import torch
  from pytorchcv.model_provider import get_model
  os.makedirs(out, exist_ok=True)
  x = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
  np.save(os.path.join(out, "inputs_nchw.npy"), x)
  for i, name in enumerate(("mobile", "cpu", "gpu", "mobile14")):
    net = randomise(get_model(f"proxylessnas_{name}", pretrained=False), 10 + i)
    torch.save(net.state_dict(), os.path.join(out, f"proxylessnas_{name}.pth"))
    with torch.no_grad():
      np.save(os.path.join(out, f"logits_{name}.npy"), net(torch.from_numpy(x)).numpy())


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("step", choices=("config", "torch", "published"))
  parser.add_argument("--original", help="checkout of mit-han-lab/proxylessnas")
  parser.add_argument("--out", help="published: output directory")
  args = parser.parse_args()
  if args.step == "config":
    return write_net_config()
  if args.step == "published":
    return write_published(args.out)
  import torch
  x = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
  np.save(os.path.join(HERE, "inputs_nchw.npy"), x)
  net = original_net(args.original)
  nets = {"original": (randomise(net, 1), False), "pytorchcv": (randomise(pytorchcv_net(), 2), True)}
  for name, (model, zip_format) in nets.items():
    torch.save({"state_dict": model.state_dict(), "epoch": 1} if name == "original"
               else model.state_dict(), os.path.join(HERE, f"tiny_{name}.pth"),
               _use_new_zipfile_serialization=zip_format)
    with torch.no_grad():
      np.save(os.path.join(HERE, f"logits_{name}.npy"), model(torch.from_numpy(x)).numpy())
    print(name, sum(p.numel() for p in model.parameters()), "parameters")


if __name__ == "__main__":
  main()
