"""A regular (non-editable) install works: the wheel holds every subpackage, the flag files and
the shipped tables; its `proxyless_tf` console script runs a command from outside the checkout.

The wheel goes into a fresh venv that sees the test environment's site-packages for its
dependencies only (a path line, so the checkout's editable hook is not loaded)."""

import glob
import os
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cmd, cwd, **kw):
  proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, **kw)
  return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  import fcntl
  tmp = tmp_path_factory.mktemp("wheel")
  # two `pip wheel` runs of one checkout at once (two test workers) race on its build/ folder:
  # the workers' temp folders share a parent, where they take turns on one lock
  with open(tmp_path_factory.getbasetemp().parent / "wheel.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(tmp / "dist"), ROOT], cwd=tmp)
  assert built.returncode == 0, built.stderr[-2000:]
  wheel = glob.glob(str(tmp / "dist" / "proxyless_tf-*.whl"))[0]
  venv = tmp / "venv"
  assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp).returncode == 0
  python = str(venv / "bin" / "python")
  site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
              cwd=tmp).stdout.strip()
  with open(os.path.join(site, "dependencies.pth"), "w") as f:
    f.write(sysconfig.get_paths()["purelib"] + "\n")
  done = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q",
               wheel], cwd=tmp)
  assert done.returncode == 0, done.stderr[-2000:]
  return {"tmp": tmp, "wheel": wheel, "python": python, "script": str(venv / "bin" / "proxyless_tf")}


def test_the_wheel_holds_every_package_the_flag_files_and_the_tables(installed):
  names = zipfile.ZipFile(installed["wheel"]).namelist()
  packages = {os.path.dirname(p) for p in glob.glob(os.path.join(ROOT, "proxyless_tf", "**",
                                                                  "*.py"), recursive=True)}
  for package in packages:
    rel = os.path.relpath(package, ROOT)
    assert f"{rel}/__init__.py" in names, f"{rel} is not in the wheel (no __init__.py?)"
  for data in ("flags", "tables"):
    folder = os.path.join(ROOT, "proxyless_tf", data)
    shipped = sorted(os.path.relpath(p, folder) for p in glob.glob(os.path.join(folder, "**", "*"),
                                                                   recursive=True)
                     if os.path.isfile(p))
    assert shipped and all(f"proxyless_tf/{data}/{name}" in names for name in shipped), [
        name for name in shipped if f"proxyless_tf/{data}/{name}" not in names]


def test_installed_command_runs_outside_the_checkout(installed, tmp_path):
  tmp, python = installed["tmp"], installed["python"]
  where = _run([python, "-c", "import proxyless_tf; print(proxyless_tf.__file__)"], cwd=tmp)
  assert where.stdout.strip().startswith(str(tmp / "venv")), where.stdout + where.stderr
  usage = _run([installed["script"], "--help"], cwd=tmp)
  assert usage.returncode == 0 and "search" in usage.stdout
  helped = _run([installed["script"], "search", "--help"], cwd=tmp)
  assert helped.returncode == 0 and "--target" in helped.stdout + helped.stderr
  # a shipped table, named as the mobile flag file names it, resolves from anywhere
  table = _run([python, "-c", "from proxyless_tf.latency.targets import cost_model_for_target as c;"
                " print(c('mobile', 'tables/pixel1_tunas_proxyless_224.json').table.path)"], cwd=tmp)
  assert table.returncode == 0 and str(tmp / "venv") in table.stdout, table.stdout + table.stderr
  # --target=flops loads flags/flops.flags from the package: a whole (tiny) search runs
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  from test_streaming import write_folder
  write_folder(str(tmp_path / "images"), per_class=30)
  out = tmp_path / "run"
  search = _run([installed["script"], "search", "--target=flops", "--space=tiny",
                 "--input_size=16", "--batch_size=16", "--warmup_epochs=1", "--epochs=1",
                 "--steps_per_epoch=2", "--valid_per_class=3", "--latency_loss=add_linear",
                 f"--dataset=folder:{tmp_path / 'images'}", f"--out={out}", "--target_latency=0"],
                cwd=tmp, env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
  assert search.returncode == 0, search.stdout[-2000:] + search.stderr[-2000:]
  assert (out / "arch.json").exists()
  # a quiet console: none of TensorFlow's C++ start-up lines
  for noise in ("WARNING: All log messages", "cuInit", "oneDNN custom operations", "cudart_stub"):
    assert noise not in search.stderr + search.stdout, noise
