"""The search: warm-up and arch updates over a supernet (`runner.SearchRun`), its traced steps, the
arch objective and the requested-latency controller. Command line: `python -m proxyless_tf.search`."""
