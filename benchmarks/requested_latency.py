"""Requested-latency mode end to end on this host: do searches land on the request, measured?

  python -m benchmarks.requested_latency [--requests=0.7x,0.8x,0.9x --epochs=3]

Each request runs `--target=cpu` with flags/cpu.flags (the `small` space on Fashion-MNIST, this
host's cached LiteRT table with its correction); at the end the search times the derived net
next to the reference net (k3 e6 everywhere) and the table's canary, interleaved
(latency/side_by_side.py). Reported: requested / predicted / measured as a ratio to the
reference net (side by side) and in ms (measured now / the canary's speed factor).
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.common import ROOT, publish



def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--requests", default="0.7x,0.8x,0.9x")
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--out", default=os.path.join(ROOT, "runs", "requested_latency"))
  parser.add_argument("--table", default=os.path.join(ROOT, "tables", "host_small_float_t1.json"),
                      help="this host's table (`python -m benchmarks.latency_predictor` builds it); "
                      "empty: the --target=cpu cache")
  args = parser.parse_args()
  import proxyless_tf as ptf
  from proxyless_tf.benchmark.host import cpu_model
  from proxyless_tf.latency.identity import fingerprint, host_identity
  rows = []
  for request in args.requests.split(","):
    start = time.monotonic()
    result = ptf.search("fashion_mnist_local", target="cpu", target_latency=request,
                        latency_table=args.table or None, epochs=args.epochs,
                        out=os.path.join(args.out, request), resume=True)
    c = result.latency_check
    rows.append((request, c, time.monotonic() - start))
    print(request, c, flush=True)
  ident = host_identity()
  lines = ["## Requested latency, end to end: searches measured against their request", "",
           f"Command: `python -m benchmarks.requested_latency --requests={args.requests} "
           f"--epochs={args.epochs}`  ",
           f"{time.strftime('%Y-%m-%d')}, {cpu_model()} (family {ident.get('family')} model "
           f"{ident.get('model')}, fingerprint {fingerprint(ident)}), LiteRT float, 1 thread. "
           "`--target=cpu` with flags/cpu.flags (the `small` space, Fashion-MNIST, "
           f"{os.path.relpath(args.table, ROOT) if args.table else 'the cached table'} of this "
           "host and its correction). Measured = the derived net timed next to the "
           "reference net (k3 e6 everywhere) and the table's canary in 5 interleaved rounds of 50 "
           "runs; ms at the table's speed = ms now / speed factor. Goals: ratio within +-3% of "
           "the request, ms within +-5%. Runs resume (`--resume`): a search already finished "
           "re-derives its net from its last checkpoint and is measured again (searches are "
           "deterministic, so this equals a fresh run; `s` is then seconds of that).", "",
           "| request | requested ms | predicted ms | measured ms now | speed factor | measured ms "
           "at the table's speed | ms error % | requested ratio | predicted ratio | measured "
           "ratio | ratio error % | s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
  for request, c, seconds in rows:
    lines.append(f"| {request} | {c['requested_ms']:.4f} | {c['predicted_ms']:.4f} | "
                 f"{c['measured_ms']:.4f} | {c['speed_factor']:.3f} | "
                 f"{c['measured_at_build_ms']:.4f} | {c['ms_error_pct']:+.1f} | "
                 f"{c['requested_ratio']:.3f} | {c['predicted_ratio']:.3f} | "
                 f"{c['measured_ratio']:.3f} | {c['ratio_error_pct']:+.1f} | {seconds:.0f} |")
  publish("requested_latency", lines)


if __name__ == "__main__":
  main()
