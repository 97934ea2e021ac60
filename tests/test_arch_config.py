import json

import pytest

from proxyless_tf.arch import ArchConfig, ArchConfigError, Block, load_arch, make_divisible
from proxyless_tf.families.mbconv.config import from_dict, from_json


def _base_dict():
  return {"input_size": 32, "input_channels": 1, "num_classes": 10, "stem": {"filters": 16},
          "blocks": [{"type": "mbconv", "filters": 16, "stride": 1, "kernel_size": 3,
                      "expand_ratio": 1},
                     {"type": "zero", "filters": 16, "stride": 1},
                     {"type": "mbconv", "filters": 24, "stride": 2, "kernel_size": 5,
                      "expand_ratio": 6}],
          "head": {"filters": 64}}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["blocks"][0].update(kernel_size=4), "block 0: 'kernel_size' must be odd"),
    (lambda d: d["blocks"][2].update(stride=3), "block 2: 'stride' must be 1 or 2"),
    (lambda d: d["blocks"][1].update(stride=2), "block 1: 'zero' is only legal"),
    (lambda d: d["blocks"].insert(0, {"type": "zero", "filters": 24}), "block 0: 'zero' is only legal"),
    (lambda d: d["blocks"][2].update(expand_ratio=0), "block 2: 'expand_ratio' must be an integer in [1, 32]"),
    (lambda d: d["blocks"][2].update(filters="24"), "block 2: 'filters' must be an integer"),
    (lambda d: d["blocks"][2].update(type="conv"), "block 2: 'type' must be one of"),
    (lambda d: d["blocks"][2].pop("kernel_size"), "block 2: missing field 'kernel_size'"),
    (lambda d: d["blocks"][2].update(dilation=2), "block 2: unknown field(s) ['dilation']"),
    (lambda d: d.update(blocks=[]), "'blocks' is empty"),
    (lambda d: d.update(dropout=1.5), "'dropout' must be a number in [0.0, 1.0)"),
    (lambda d: d.update(num_classes=0), "'num_classes' must be an integer in [1, 1000000]"),
    (lambda d: d.update(bn={"momentum": 1.2}), "bn: 'momentum' must be a number in [0.0, 1.0)"),
    (lambda d: d["stem"].update(filters=-3), "stem: 'filters' must be an integer in [1, 16384]"),
    (lambda d: d.update(extra=1), "unknown field(s) ['extra']"),
    # issue 12: accepted though wrong before
    (lambda d: d["blocks"][2].update(filters=10**9), "'filters' must be an integer in [1, 16384]"),
    (lambda d: d["blocks"][2].update(expand_ratio=10**9), "'expand_ratio' must be an integer in"),
    (lambda d: d.update(input_size=10**9), "'input_size' must be an integer in [1, 4096]"),
    (lambda d: d.update(num_classes=900000, head={"filters": 16000}), "parameters, more than"),
    (lambda d: d.update(input_size=4096, stem={"filters": 16000, "stride": 1}), "largest activation"),
    (lambda d: d.update(bn={"epsilon": float("nan")}), "bn: 'epsilon' must be a number in (0.0"),
    (lambda d: d["stem"].update(filterz=3), "stem: unknown field(s) ['filterz']"),
    (lambda d: d["head"].update(kernel_size=3), "head: unknown field(s) ['kernel_size']"),
    (lambda d: d.update(bn={"eps": 1e-5}), "bn: unknown field(s) ['eps']"),
    (lambda d: d.update(name=123), "'name' must be 1-128 letters"),
    (lambda d: d.update(name="../../etc/net"), "'name' must be 1-128 letters"),
    (lambda d: d["blocks"][1].update(kernel_size=3), "block 1: a 'zero' block is skipped"),
    (lambda d: d["stem"].update(stride=3), "stem: 'stride' must be 1 or 2"),
    (lambda d: d["stem"].update(kernel_size=4), "stem: 'kernel_size' must be odd"),
    (lambda d: d.update(padding="reflect"), "'padding' must be one of ['same', 'symmetric']"),
    (lambda d: d["blocks"][2].update(stride=True), "block 2: 'stride' must be 1 or 2"),
    (lambda d: d.update(blocks=[d["blocks"][0]] * 600), "600 blocks, at most 512"),
])
def test_validation_errors_name_the_field(mutate, message):
  data = _base_dict()
  from_dict(data)  # the base is valid
  mutate(data)
  with pytest.raises(ArchConfigError) as err:
    from_dict(data)
  assert message in str(err.value)
  assert "\n" not in str(err.value)


def test_json_round_trip():
  config = from_dict(_base_dict())
  again = from_json(config.to_json())
  assert again == config
  assert json.loads(again.to_json()) == json.loads(config.to_json())


def test_bad_json_is_one_line(tmp_path):
  path = tmp_path / "bad.json"
  path.write_text("{\"blocks\": [")
  with pytest.raises(ArchConfigError, match="not valid JSON"):
    load_arch(str(path))
  with pytest.raises(ArchConfigError, match="neither a known network"):
    load_arch(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("value, expected", [(32 * 0.35, 16), (32 * 0.5, 16), (24 * 1.4, 32),
                                             (96 * 1.4, 136), (10, 16), (67, 64), (90, 88), (60, 64)])
def test_make_divisible(value, expected):
  assert make_divisible(value) == expected
  assert make_divisible(value) >= 0.9 * value


def test_width_multiplier_scales_head_only_when_widening():
  config = ArchConfig(blocks=(Block(16, 1, 3, 1), Block(24, 2, 3, 6)), head_filters=1280)
  narrow = config.with_width(0.5)
  assert narrow.stem_filters == 16 and [b.filters for b in narrow.blocks] == [8, 16]
  assert narrow.head_filters == 1280
  wide = config.with_width(1.4)
  assert wide.head_filters == 1792 and wide.stem_filters == 48
  with pytest.raises(ArchConfigError):
    config.with_width(0)


def test_residual_zero_block_requires_matching_channels():
  with pytest.raises(ArchConfigError, match="in=16, out=24"):
    ArchConfig(stem_filters=16, blocks=(Block(24, 1, type="zero"),))


@pytest.mark.parametrize("raw, message", [
    (b'{"name": "\xff\xfe"}', "not UTF-8 text"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"input_size": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b'{"dropout": NaN}', "NaN is not a JSON number"),
    (b"", "not valid JSON"),
])
def test_unreadable_arch_files_are_one_line(tmp_path, raw, message):
  path = tmp_path / "arch.json"
  path.write_bytes(raw)
  with pytest.raises(ArchConfigError) as err:
    load_arch(str(path))
  assert message in str(err.value) and "\n" not in str(err.value)
  with pytest.raises(ArchConfigError, match="is a directory"):
    load_arch(str(tmp_path))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(bn=None), "'bn' must be an object"),
    (lambda d: d.update(blocks=5), "'blocks' must be a list"),
    (lambda d: d["bn"].update(momentum="fast"), "'momentum' must be a number"),
    (lambda d: d["first_conv"].update(out_channels="32"), "'out_channels' must be an integer"),
    (lambda d: d["blocks"][1]["mobile_inverted_conv"].update(kernel_size=[3, 5]), "non-square"),
    (lambda d: d["blocks"][1]["mobile_inverted_conv"].update(kernel_size=None),
     "'kernel_size' must be an integer or [h, w]"),
    (lambda d: d["blocks"][1].update(mobile_inverted_conv=[]), "'mobile_inverted_conv' must be an object"),
    (lambda d: d["classifier"].update(out_features=10**9), "'num_classes' must be an integer in"),
    (lambda d: d["blocks"][1]["mobile_inverted_conv"].update(name="SepConv"), "unsupported layer"),
])
def test_bad_pytorch_net_config_is_one_line(tmp_path, mutate, message):
  from proxyless_tf.families.mbconv.original import to_pytorch_config
  from proxyless_tf.arch.presets import get_preset
  data = json.loads(json.dumps(to_pytorch_config(get_preset("proxyless_mobile"))))
  mutate(data)
  path = tmp_path / "proxyless.config"
  path.write_text(json.dumps(data))
  with pytest.raises(ArchConfigError) as err:
    load_arch(str(path))
  assert message in str(err.value) and "\n" not in str(err.value)
