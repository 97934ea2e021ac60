"""What determines a latency table's numbers: the device's identity, recorded in every table.

Two hosts that both call themselves "AMD EPYC" can differ by 15-27% per network (measured), so
the CPU name is not an identity. Recorded here: vendor, family / model / stepping (x86) or
implementer / part / variant (ARM), the ISA features XNNPACK dispatches its kernels on, the
number of CPUs this process may use, and the runtime. A table is reused (the `--target=cpu`
cache) only on a device with the same identity, and a table used elsewhere is flagged
(`check_identity`): it may still rank architectures right, but its milliseconds are someone
else's.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform

from proxyless_tf.errors import UserError

# ISA features XNNPACK picks microkernels by (x86: src/xnnpack/hardware-config.h; ARM: dotprod,
# i8mm and fp16 arithmetic select the int8 / fp16 kernels).
X86_FEATURES = ("sse4_1", "avx", "f16c", "fma", "avx2", "avx512f", "avx512bw", "avx512dq",
                "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                "amx_int8", "amx_bf16")
ARM_FEATURES = ("asimd", "asimddp", "i8mm", "fphp", "asimdhp", "bf16", "sve", "sve2", "sme")
# Fields that decide speed; anything else in an identity (the CPU's marketing name) is a label.
HOST_KEYS = ("machine", "vendor", "family", "model", "stepping", "implementer", "part", "variant",
             "isa", "cpus", "runtime")
ANDROID_KEYS = ("model", "soc", "android", "abi", "benchmark_model")
# An XLA-compiled table (`xla.py`): the GPU and its software stack, or the CPU it ran on.
XLA_KEYS = ("gpu", "memory_mb", "driver", "cuda", "cudnn", "backend", "backend_version", "jaxlib",
            "platform", "machine", "family", "model", "stepping", "cpus")


def _keys(*identities) -> tuple[str, ...]:
  if any("backend" in i for i in identities):
    return XLA_KEYS
  return ANDROID_KEYS if any("soc" in i for i in identities) else HOST_KEYS


def _cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, str]:
  """The first processor's fields of /proc/cpuinfo (all processors are alike on the hosts
  this runs on; big.LITTLE phones are measured through adb, not here)."""
  fields = {}
  try:
    with open(path) as f:
      for line in f:
        if not line.strip():
          if fields:
            break
          continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
  except OSError:
    pass
  return fields


def host_identity(cpuinfo_path: str = "/proc/cpuinfo") -> dict:
  from proxyless_tf import litert
  info = _cpuinfo(cpuinfo_path)
  flags = set((info.get("flags") or info.get("Features") or "").split())
  arm = "CPU implementer" in info
  identity = {
      "machine": platform.machine(),
      "name": info.get("model name") or platform.processor() or platform.machine(),
      "vendor": info.get("vendor_id") or info.get("CPU implementer", ""),
      "isa": sorted(f for f in (ARM_FEATURES if arm else X86_FEATURES) if f in flags),
      "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
      "runtime": litert.runtime_version(),
  }
  if arm:
    identity.update(implementer=info.get("CPU implementer", ""), part=info.get("CPU part", ""),
                    variant=info.get("CPU variant", ""))
  else:
    identity.update(family=info.get("cpu family", ""), model=info.get("model", ""),
                    stepping=info.get("stepping", ""))
  return identity


def android_identity(adb) -> dict:
  """A phone through adb: model, SoC, Android version, ABI and the benchmark_model binary's hash
  (it prints no version; a different build is a different runtime)."""
  from proxyless_tf.benchmark.android import REMOTE_DIR
  soc = adb.getprop("ro.soc.model") or adb.getprop("ro.board.platform") or adb.getprop("ro.hardware")
  digest = adb.shell(f"md5sum {REMOTE_DIR}/benchmark_model 2>/dev/null").split()
  return {"model": adb.getprop("ro.product.model"), "soc": soc,
          "android": adb.getprop("ro.build.version.release"),
          "abi": adb.getprop("ro.product.cpu.abi"),
          "benchmark_model": digest[0] if digest else "unknown"}


def fingerprint(identity: dict) -> str:
  """Short stable hash of the fields that decide speed (the cache key's device part)."""
  keys = _keys(identity)
  decisive = {k: identity.get(k) for k in keys if k in identity}
  return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:10]


def differences(recorded: dict, current: dict) -> list[str]:
  """'field: recorded -> current' for every speed-deciding field that differs."""
  keys = _keys(recorded, current)
  return [f"{k}: {recorded.get(k)!r} -> {current.get(k)!r}" for k in keys
          if (k in recorded or k in current) and recorded.get(k) != current.get(k)]


def check_host_table(table, strict: bool = False, log=print) -> list[str]:
  """Flags a host table used on a host that is not the one it was measured on (a warning, or an
  error with `strict`). Returns the differences (empty when it matches)."""
  meta = table.metadata
  if not str(meta.get("device", "")).startswith("host"):
    return []
  recorded = meta.get("identity")
  if not isinstance(recorded, dict):
    problems = ["the table records no device identity (built before identities were recorded)"]
  else:
    problems = differences(recorded, host_identity())
  if not problems:
    return []
  message = (f"latency table {table.path} was not measured on this machine ({'; '.join(problems)}): "
             "its latencies may be off by 15-30% here. Rebuild it here (`--target=cpu` without "
             "--latency_table measures and caches one) or check it with `python -m "
             f"proxyless_tf.latency validate --table={table.path}`")
  if strict:
    raise UserError(message)
  log(f"WARNING: {message}")
  return problems


def host_line() -> str:
  """The host a latency figure was measured on, in one line: CPU name, family / model,
  fingerprint and the LiteRT version (what every BENCHMARKS.md latency states beside it)."""
  from proxyless_tf import litert
  from proxyless_tf.benchmark.host import cpu_model
  ident = host_identity()
  return (f"{cpu_model()} (family {ident.get('family')} model {ident.get('model')}, fingerprint "
          f"{fingerprint(ident)}), {litert.runtime_version()}")
