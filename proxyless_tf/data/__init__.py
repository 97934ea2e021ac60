"""Datasets (offline sources) and the input pipeline."""

from proxyless_tf.data.pipeline import make_dataset, normalize, sample_batch
from proxyless_tf.data.sources import Dataset, Split, held_out_split, load_dataset

__all__ = ["Dataset", "Split", "held_out_split", "load_dataset", "make_dataset", "normalize",
           "sample_batch"]
