"""The search: its options (`config.py`), the run (`runner.SearchRun`: warm-up, then weight steps
with arch updates), its steps (`steps.py`), how alpha learns (`arch_update.py`), the arch
objective, the requested-latency controller and the result (`result.py`). Command line:
`python -m proxyless_tf.search`."""

from proxyless_tf.utils.callable_module import make_callable  # noqa: E402

make_callable(__name__, "proxyless_tf.api:search")  # ptf.search(...): see proxyless_tf.api.search
