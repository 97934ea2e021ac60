"""Published MobileNetV3 nets as configs of this family."""

from __future__ import annotations

from proxyless_tf.families.mobilenet_v3.config import V3Block, V3NetConfig


def mobilenet_v3_large() -> V3NetConfig:
  """MobileNetV3-Large 1.0 at 224 (Howard et al. 2019, Table 1), as Keras's
  `keras.applications.MobileNetV3Large` builds it: the same blocks, widths, SE and activations,
  and its exact parameter count (a test holds the two equal)."""
  rows = [  # (expand ratio, filters, kernel, stride, SE, activation)
      (1, 16, 3, 1, False, "relu"),
      (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
      (3, 40, 5, 2, True, "relu"), (3, 40, 5, 1, True, "relu"), (3, 40, 5, 1, True, "relu"),
      (6, 80, 3, 2, False, "hswish"), (2.5, 80, 3, 1, False, "hswish"),
      (2.3, 80, 3, 1, False, "hswish"), (2.3, 80, 3, 1, False, "hswish"),
      (6, 112, 3, 1, True, "hswish"), (6, 112, 3, 1, True, "hswish"),
      (6, 160, 5, 2, True, "hswish"), (6, 160, 5, 1, True, "hswish"),
      (6, 160, 5, 1, True, "hswish")]
  blocks = tuple(V3Block(filters=f, stride=s, kernel_size=k, expand_ratio=e, se=se, activation=a)
                 for e, f, k, s, se, a in rows)
  return V3NetConfig(blocks=blocks, name="mobilenet_v3_large", head_filters=960,
                     feature_filters=1280, dropout=0.2, bn_momentum=0.999)


V3_PRESETS = {"mobilenet_v3_large": mobilenet_v3_large}
