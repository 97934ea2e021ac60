"""Measured latency of .tflite files: on this host (LiteRT) or on a phone (adb + benchmark_model)."""

from proxyless_tf.benchmark.host import BenchmarkResult, benchmark_host, summarize


def format_result(result: BenchmarkResult) -> str:
  def ms(key):
    value = result.summary.get(key)
    return "n/a" if value is None else f"{value:.3f}"

  s = result.settings
  lines = [f"model:    {result.model}", f"device:   {result.device}",
           f"settings: {s.get('runtime')}, {s.get('num_threads')} thread(s), delegate "
           f"{s.get('delegate')}, warmup {s.get('warmup')}, runs {s.get('runs')}",
           f"{'median ms':>10} {'p10 ms':>10} {'p90 ms':>10} {'mean ms':>10}",
           f"{ms('median_ms'):>10} {ms('p10_ms'):>10} {ms('p90_ms'):>10} {ms('mean_ms'):>10}"]
  if "delegated_nodes" in result.summary:
    lines.append(f"delegated nodes: {result.summary['delegated_nodes']}")
  return "\n".join(lines)


__all__ = ["BenchmarkResult", "benchmark_host", "format_result", "summarize"]

from proxyless_tf.utils.callable_module import make_callable  # noqa: E402

make_callable(__name__, "proxyless_tf.api:benchmark")  # ptf.benchmark(...): see proxyless_tf.api.benchmark
