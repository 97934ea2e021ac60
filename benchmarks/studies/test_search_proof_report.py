"""The experiment's verdicts (benchmarks/studies/search_proof_report.py; run `pytest benchmarks`: it
tests a study's own code, not the package) on made-up rows."""

from benchmarks.studies.search_proof_report import claims, front_accuracy


def _rows(aware_acc, t1_ms=0.13):
  row = lambda ms, acc: {"float_ms": ms, "acc": acc}  # noqa: E731
  rows = {"k3e6_w0.5": row(0.125, 0.80), "k3e6_w0.75": row(0.26, 0.84),
          "k3e6_w1.0": row(0.33, 0.85), "searched_blind": row(0.47, 0.855),
          "searched_cpu_T1": row(t1_ms, aware_acc[0]), "searched_cpu_T2": row(0.26, aware_acc[1]),
          "searched_cpu_T3": row(0.28, aware_acc[2])}
  for i, acc in enumerate((0.82, 0.83, 0.835, 0.84, 0.845)):
    rows[f"random_cpu_T2_{i}"] = row(0.26, acc)
  return rows


def test_front_is_the_baselines_interpolated_and_undefined_outside():
  rows = _rows((0.81, 0.845, 0.85))
  assert abs(front_accuracy(rows, 0.295) - 0.845) < 1e-9  # half-way from w0.75 to w1.0
  assert front_accuracy(rows, 0.1) is None and front_accuracy(rows, 0.5) is None


def test_verdicts_follow_the_numbers():
  good = claims(_rows((0.81, 0.846, 0.851)))
  assert [held for _, held, _ in good] == [True, True, True]
  # T2 below the baselines' front and below the random median; nothing as accurate as w1.0
  bad = claims(_rows((0.81, 0.83, 0.84)))
  assert [held for _, held, _ in bad] == [False, False, False]
  # T3 as accurate as w1.0 (within 0.3 points) but only 0.85x its latency at 0.2805 ms
  slow = claims(_rows((0.81, 0.846, 0.848)))
  assert slow[1][1] is True and "0.85x" in slow[1][2]
