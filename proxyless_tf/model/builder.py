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


def classifier_head(x, config):
  """A classifier a family may use: global average pool, dropout, dense (the layer
  names are what `arch_from_model` and the PyTorch weight maps read)."""
  x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
  x = keras.layers.Dropout(config.dropout, name="dropout")(x)
  return keras.layers.Dense(config.num_classes, name="classifier",
                            kernel_initializer=dense_initializer(config.head_filters),
                            bias_initializer="zeros")(x)
