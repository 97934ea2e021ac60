"""Datasets (offline sources) and the input pipeline.

The sources read files into numpy arrays and need no TensorFlow; the tf.data pipeline is imported
on first use (`make_dataset`, `normalize`, `sample_batch`), so the rest works under any Keras
backend.
"""

from proxyless_tf.data.sources import Dataset, Split, held_out_split, load_dataset

__all__ = ["Dataset", "Split", "held_out_split", "load_dataset", "make_dataset", "normalize",
           "sample_batch"]
_PIPELINE = ("make_dataset", "normalize", "sample_batch")


def __getattr__(name):
  if name in _PIPELINE:
    from proxyless_tf.data import pipeline
    return getattr(pipeline, name)
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
