"""Reads a PyTorch checkpoint (`torch.save` of a state dict) into NumPy arrays, without torch.

Users bring the original ProxylessNAS weights (`proxyless_mobile.pth`, saved by an old torch in
the legacy format) or pytorchcv's (the zip format of torch >= 1.6). torch is a 700 MB+ install,
so it must not be needed to port ~10 MB of weights. Both formats are a pickle whose tensors point
at raw little-endian storages; the unpickler here builds only what a state dict holds (tensors,
ordered dicts, numbers, strings) and refuses every other class, so a checkpoint cannot run code.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import tarfile
import zipfile

import numpy as np

from proxyless_tf.errors import UserError

# torch's legacy typed-storage class names -> NumPy dtypes
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": None, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
  def __init__(self, name: str):
    if name not in _STORAGE_DTYPES:
      raise UserError(f"checkpoint holds a torch.{name}, which cannot be read without torch")
    if _STORAGE_DTYPES[name] is None:
      raise UserError(f"checkpoint holds bfloat16 tensors; save them as float32 first "
                      f"(`{{k: v.float() for k, v in state_dict.items()}}`)")
    self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


def _rebuild_tensor(storage, offset, size, stride, *_):
  """`torch._utils._rebuild_tensor_v2`: a strided view of a flat storage, copied out."""
  size, stride = tuple(size), tuple(stride)
  if not size:
    return np.array(storage[offset])
  item = storage.itemsize
  view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                         strides=[s * item for s in stride])
  return np.array(view, dtype=storage.dtype.newbyteorder("="))


def _rebuild_parameter(data, *_):
  return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "tuple"): tuple,
}


class _Unpickler(pickle.Unpickler):
  def __init__(self, file, load_storage):
    super().__init__(file)
    self.load_storage = load_storage

  def find_class(self, module, name):
    if module == "torch" and name.endswith("Storage"):
      return _StorageType(name)
    if (module, name) in _ALLOWED:
      return _ALLOWED[(module, name)]
    if module == "torch" and name == "Size":
      return tuple
    raise UserError(f"checkpoint pickles {module}.{name}, which a state dict of tensors does not "
                    "hold; save only the state dict (`torch.save(model.state_dict(), path)`)")

  def persistent_load(self, pid):
    if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
      raise UserError(f"checkpoint has an unknown persistent object {pid!r:.60}")
    return self.load_storage(pid)


class _PlainUnpickler(pickle.Unpickler):
  """Numbers, strings, lists, dicts only: no class is ever looked up."""

  def find_class(self, module, name):
    raise UserError(f"checkpoint header pickles {module}.{name}: not a torch checkpoint")


def _read_zip(path: str) -> object:
  with zipfile.ZipFile(path) as archive:
    names = archive.namelist()
    pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
    if pkl is None:
      raise UserError(f"{path}: a zip file but not a torch checkpoint (no data.pkl)")
    prefix = pkl[:-len("data.pkl")]
    if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
      raise UserError(f"{path}: big-endian checkpoints are not supported")
    storages = {}

    def load_storage(pid):
      _, storage_type, key, _location, numel = pid[:5]
      if key not in storages:
        raw = archive.read(f"{prefix}data/{key}")
        storages[key] = np.frombuffer(raw, dtype=storage_type.dtype)
      return storages[key]

    return _Unpickler(io.BytesIO(archive.read(pkl)), load_storage).load()


def _read_legacy(path: str, f) -> object:
  """torch < 1.6 `torch.save`: magic, protocol, sys info, the object, storage keys, then each
  storage as (8-byte element count, raw data) in the order of the keys. As torch does, storages
  are allocated while the object is unpickled, its tensors are views of them, and the data is
  read into them afterwards."""
  plain = _PlainUnpickler  # the headers are plain numbers / dicts / lists
  if plain(f).load() != _LEGACY_MAGIC:
    raise UserError(f"{path}: not a torch checkpoint (bad magic number)")
  plain(f).load()  # protocol version
  info = plain(f).load()
  if isinstance(info, dict) and not info.get("little_endian", True):
    raise UserError(f"{path}: big-endian checkpoints are not supported")
  storages = {}

  def load_storage(pid):
    _, storage_type, key, _location, numel, view = (*pid, None)[:6]
    if key not in storages:
      storages[key] = np.zeros(int(numel), dtype=storage_type.dtype)
    flat = storages[key]
    if view is not None:
      _view_key, offset, size = view
      flat = flat[offset:offset + size]
    return flat

  class LegacyUnpickler(_Unpickler):
    def find_class(self, module, name):
      if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
        return _view_tensor
      return super().find_class(module, name)

  result = LegacyUnpickler(f, load_storage).load()
  for key in plain(f).load():
    (numel,) = struct.unpack("<q", f.read(8))
    storage = storages[key]
    if numel != storage.size or f.readinto(memoryview(storage).cast("B")) != storage.nbytes:
      raise UserError(f"{path}: truncated or inconsistent (storage {key})")
  return result


def _view_tensor(storage, offset, size, stride, *_):
  """Like `_rebuild_tensor` but a view, for storages filled after unpickling."""
  size, stride = tuple(size), tuple(stride)
  return np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                         strides=[s * storage.itemsize for s in stride])


def read_checkpoint(path: str) -> object:
  """The unpickled object of a `torch.save` file, tensors as NumPy arrays."""
  try:
    if zipfile.is_zipfile(path):
      return _read_zip(path)
    if tarfile.is_tarfile(path):
      raise UserError(f"{path}: a tar-format torch checkpoint (torch < 0.4); re-save it with a "
                      "newer torch")
    with open(path, "rb") as f:
      return _read_legacy(path, f)
  except UserError:
    raise
  except FileNotFoundError:
    raise UserError(f"checkpoint {path} does not exist") from None
  except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, struct.error,
          zipfile.BadZipFile, IndexError, AttributeError) as e:
    raise UserError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: "
                    f"{str(e)[:80]})") from None


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """The tensors of a checkpoint, by name: a bare state dict, or one under 'state_dict' /
  'model' / 'net' (the original code saves {'state_dict': ..., 'epoch': ...}). A DataParallel
  `module.` prefix is dropped."""
  data = read_checkpoint(path)
  for key in ("state_dict", "model", "net"):
    if isinstance(data, dict) and isinstance(data.get(key), dict):
      data = data[key]
      break
  if not isinstance(data, dict) or not any(isinstance(v, np.ndarray) for v in data.values()):
    raise UserError(f"{path}: holds no state dict of tensors (found {type(data).__name__})")
  out = {}
  for name, value in data.items():
    if isinstance(value, np.ndarray):
      name = str(name)
      out[name[len("module."):] if name.startswith("module.") else name] = np.array(value)
  return out
