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


CIFAR_BINARY_DIR = None  # set by the test: a folder with cifar-10-batches-bin/ made of small files


from tensorflow_datasets.image_classification.cifar import Cifar10  # noqa: E402


class LocalCifar10(Cifar10, skip_registration=True):
  """tensorflow-datasets' own `cifar10` builder, prepared from small generated binary batches
  instead of the download: what `tfds build cifar10 --data_dir=DIR` leaves on disk."""

  name = "cifar10"

  def _split_generators(self, dl_manager):
    dl_manager.download_and_extract = lambda url: CIFAR_BINARY_DIR
    return super()._split_generators(dl_manager)
