"""The search: warm-up and arch updates over a supernet (`runner.SearchRun`), its traced steps, the
arch objective and the requested-latency controller. Command line: `python -m proxyless_tf.search`."""

from proxyless_tf.utils.callable_module import make_callable  # noqa: E402

make_callable(__name__, "proxyless_tf.api:search")  # ptf.search(...): see proxyless_tf.api.search
