"""A tensorflow-datasets builder of generated images, prepared offline by the streaming tests
(tfds needs a builder to live in a package)."""

import numpy as np
import tensorflow_datasets as tfds


class ToyImages(tfds.core.GeneratorBasedBuilder):
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(16, 16, 1)),
            "label": tfds.features.ClassLabel(num_classes=3)}),
        supervised_keys=("image", "label"))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(90, 0), "test": self._generate_examples(15, 1)}

  def _generate_examples(self, count, seed):
    rng = np.random.default_rng(seed)
    for i in range(count):
      yield f"{seed}_{i}", {"image": rng.integers(0, 255, (16, 16, 1), dtype=np.uint8),
                            "label": i % 3}
