"""Issue 25's fault-injection suite in its short form (tests/fault_injection.py runs the full
one): a search, a retraining and a table build killed at injected points, their files cut
short, garbled or deleted, a second writer on their directory, a full disk; then resumed.
Each case must end as it is expected to: identical to an uninterrupted run, or a clean
one-line stop that took no checkpoint away."""

import pytest

import fault_injection as suite


@pytest.mark.slow
@pytest.mark.parametrize("family", ["search", "train", "table"])
def test_every_fault_resumes_identical_or_stops_in_one_line(tmp_path, family, request):
  shared = request.getfixturevalue("tiny_search") if family == "search" else None
  results = suite.run_in_process(str(tmp_path), short=True, families=(family,),
                                 shared_search=shared)
  expected = {c.name: c.expect for c in getattr(suite, f"{family}_cases")() if c.short}
  assert len(results) == len(expected) >= 8
  wrong = [f"{r.name}: {r.outcome} (expected {expected[r.name]}) {r.detail}" for r in results
           if r.outcome != expected[r.name]]
  assert not wrong, wrong
  assert {"identical", "clean"} <= {r.outcome for r in results}


def test_a_kill_that_never_fires_and_a_lost_checkpoint_are_failures(tmp_path):
  """The suite's own verdicts: a case whose kill point is never reached proves nothing, and a
  clean stop that deleted a checkpoint it found is a loss."""
  import os

  class Family:
    checkpoints = "."
    reference = ("done",)
    stopped = str(tmp_path / "stopped")

    def run(self, out, resume):
      from proxyless_tf.errors import UserError
      if resume:
        os.remove(os.path.join(out, "ckpt"))
        raise UserError("stopped")
      return self.reference

  os.makedirs(Family.stopped)
  (tmp_path / "stopped" / "ckpt").write_text("state")
  never = suite.Case("x", "never", kill=suite.kill_at(suite, "enospc", 1))  # never called
  assert suite.run_case(Family(), never, str(tmp_path / "a")).outcome == "not reached"
  lost = suite.Case("x", "lost", damage=lambda out: None)
  assert suite.run_case(Family(), lost, str(tmp_path / "b")).outcome == "loss"


@pytest.mark.slow_tier
def test_full_form_every_case_resumes_identical_or_stops_in_one_line(tmp_path):
  """The full form, by hand (about 25 minutes on 2 cores): every in-process case, plus real
  SIGKILLs of the commands at random times, two commands at once and a real small filesystem.
  `python tests/fault_injection.py --publish` runs the same cases and writes BENCHMARKS.md."""
  results = suite.run_commands(str(tmp_path / "commands"), seed=0, kills=8)
  results += suite.run_in_process(str(tmp_path / "in_process"), short=False)
  assert len(results) >= 80
  bad = [f"{r.family}: {r.name}: {r.outcome} {r.detail}" for r in results
         if r.outcome not in suite.GOOD]
  assert not bad, bad
