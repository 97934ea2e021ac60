"""A net config of any family -> its plain functional Keras model, and back, by its family's
builder (`families/*/builder.py`); and the classifier head the families share.

The model carries everything needed to recover its config (layer configs plus the input shape),
so `arch_from_model(keras.Model.from_config(model.get_config()))` gives back the same config.
"""

from __future__ import annotations

import keras

from proxyless_tf.model.layers import dense_initializer


def build_model(config) -> keras.Model:
  """The plain Keras model of a net config of any family (its family's builder)."""
  from proxyless_tf.families import family_of
  return family_of(config).build_model(config)


def arch_from_model(model: keras.Model):
  """Reads the config back from a model made by `build_model` (or restored from its config)."""
  from proxyless_tf.families import model_family
  return model_family(model).arch_from_model(model)


def classifier_layers(net):
  """A classifier a family's builder may end with: global average pool, dropout, dense over
  `net.head_filters` (the layer names are what `arch_from_model` and the PyTorch weight maps
  read)."""
  yield keras.layers.GlobalAveragePooling2D(name="pool")
  yield keras.layers.Dropout(net.dropout, name="dropout")
  yield keras.layers.Dense(net.num_classes, name="classifier",
                           kernel_initializer=dense_initializer(net.head_filters),
                           bias_initializer="zeros")
