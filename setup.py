"""proxyless_tf: ProxylessNAS (Cai, Zhu, Han, ICLR 2019) for TensorFlow / Keras / TFLite."""

from setuptools import find_packages, setup

setup(
    name="proxyless_tf",
    version="0.1.0",
    description="Hardware-aware neural architecture search (ProxylessNAS) for Keras and TFLite",
    packages=find_packages(include=["proxyless_tf", "proxyless_tf.*"]),
    # targets' flag files and the shipped latency tables: a regular install has them too
    package_data={"proxyless_tf": ["flags/*.flags", "flags/train/*.flags", "tables/*.json"]},
    entry_points={"console_scripts": ["proxyless_tf = proxyless_tf.__main__:main"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.18",
        "keras>=3.0",
        "tensorflow-datasets",
        "importlib_resources",  # tensorflow-datasets 4.9.x imports it without declaring it
        "absl-py",
        "numpy",
        "ai-edge-litert",
        "matplotlib",
        "pyyaml",  # reads the original code's YAML latency tables
        "tensorboard",  # tf.summary needs it; tensorflow does not always bring it
        "tqdm",  # progress bars on a terminal
        "scipy",  # bounded least squares of the latency tables' per-kind corrections
    ],
    # jax (CPU): the tests train a found net under KERAS_BACKEND=jax without TensorFlow;
    # pytest-xdist: the suite runs on two workers (pytest.ini)
    extras_require={"test": ["pytest", "pytest-xdist", "hypothesis", "jax"]},
)
