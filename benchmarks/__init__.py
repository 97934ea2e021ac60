"""The project's benchmarks, run by hand from the repository root, each writing its section of
BENCHMARKS.md with the command that produced it (`benchmarks/common.py` holds what they share).

Reusable benchmarks (`python -m benchmarks.NAME`): rerun them after a change as regression checks.
  search_cost        a search's steps against training one plain net (and the original code)
  search_start       how soon a search or a published net's training starts, beside an older checkout
  tflite_latency     the published nets' LiteRT latency at 224, as exported
  latency_predictor  a host table's predictions against measured held-out nets
  padding_latency    what PyTorch-compatible padding costs in TFLite
  pixel1_tables      the published nets under the two shipped phone tables
  pytorch_parity     Keras and TFLite logits against PyTorch's, published weights
  requested_latency  whether searches land on a requested latency, measured
  determinism_cost   what reproducible searches cost
  scale_out          the streamed input pipeline and tf.distribute overheads
  cifar_tree         the CIFAR-10 tree-cell net: size, MACs, latency, search cost
  gpu_latency        `--target=gpu` on a GPU machine (JAX, no TensorFlow needed)

Dated studies (`python -m benchmarks.studies.NAME`): experiments that answered one question, kept
with their results (their BENCHMARKS.md section, and `benchmarks/studies/*.json|png|txt`) and the
command that made them; rerun only to revisit that question.
"""
