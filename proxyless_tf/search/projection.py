"""What a search will cost, said as soon as its first steps are timed.

The paper's recipe (160 epochs of a 21-mixed-op space at 224) is days on a CPU; a user who starts
it there should learn that after a few steps, not after an hour of silence. A step that built a
compiled piece (a candidate sampled for the first time, see supernet/mixed_op.py) is not a steady
step and is left out; the steady steps are timed (median), and the remaining weight steps and arch
updates are priced at those times. The projection is said once when the weight step is timed and
again when the arch step is (until then an arch update is priced as two weight steps, and the line
says so). A space whose steps keep building new pieces is projected from its latest steps after
`FALLBACK_CALLS` steps, and the line says that too.
"""

from __future__ import annotations

import statistics

from proxyless_tf.utils.progress import format_seconds

# steady steps timed before a projection (steps that built compiled pieces do not count)
WEIGHT_SAMPLES = 5
ARCH_SAMPLES = 2
FALLBACK_CALLS = 40
LONG_SECONDS = 3600.0
QUICK_FLAGS = ("`--flagfile=flags/quickstart.flags` (minutes here), or a smaller space and input: "
               "`--space=small --input_size=32 --warmup_epochs=2 --epochs=3 --steps_per_epoch=100`")


def count_arch_updates(steps: range, arch_start: int, warmup_steps: int, interval: int) -> int:
  """How many of `steps` run an arch update (the search loop's own rule)."""
  return sum(1 for s in steps if s >= arch_start and (s - warmup_steps + 1) % interval == 0)


class CostProjection:

  def __init__(self, weight_steps: int, arch_updates: int, log, device: str = "CPU",
               arch_name: str = "arch update"):
    self.weight_steps = weight_steps  # left when the run (or the resume) started
    self.arch_updates = arch_updates
    self.log = log
    self.device = device
    self.arch_name = arch_name
    self.weight_times: list[float] = []
    self.arch_times: list[float] = []
    self.weight_calls = 0
    self.arch_calls = 0
    self.weight_latest: list[float] = []  # the latest steps, built or not (the fallback)
    self.still_building = False
    self.said = set()

  def weight_step(self, seconds: float, built: bool = False) -> None:
    """`built`: the step made new compiled pieces (the first call always does)."""
    self.weight_calls += 1
    if self.weight_calls > 1 and not built:
      self.weight_times.append(seconds)
    self.weight_latest = (self.weight_latest + [seconds])[-WEIGHT_SAMPLES:]
    if len(self.weight_times) == WEIGHT_SAMPLES:
      self._say("weight")
    elif self.weight_calls == FALLBACK_CALLS and "weight" not in self.said:
      self.weight_times = list(self.weight_latest)
      self.still_building = True
      self._say("weight")

  def arch_step(self, seconds: float, built: bool = False) -> None:
    self.arch_calls += 1
    if self.arch_calls > 1 and not built:
      self.arch_times.append(seconds)
    if len(self.arch_times) == ARCH_SAMPLES and "weight" in self.said:
      self._say("arch")

  def _say(self, when: str) -> None:
    if when in self.said:
      return
    self.said.add(when)
    weight = statistics.median(self.weight_times)
    timed = bool(self.arch_times)
    arch = statistics.median(self.arch_times) if timed else 2.0 * weight
    left_weight = self.weight_steps - self.weight_calls
    left_arch = self.arch_updates - self.arch_calls
    if when == "arch" and left_arch <= 0:
      return
    seconds = max(0, left_weight) * weight + max(0, left_arch) * arch
    arch_text = ("" if self.arch_updates <= 0 else f", {self.arch_name} {arch:.3g} s" if timed
                 else f", {self.arch_name} not timed yet, priced at 2 weight steps")
    building = ", steps still building new pieces: an upper bound" if self.still_building else ""
    self.log(f"projected: {format_seconds(seconds)} more for {left_weight} weight steps and "
             f"{max(0, left_arch)} {self.arch_name}s on this {self.device} (weight step "
             f"{weight:.3g} s{arch_text}{building}; each epoch adds its held-out evaluation)")
    if seconds > LONG_SECONDS and "long" not in self.said and self.device == "CPU":
      self.said.add("long")
      self.log(f"note: this search is more than an hour on this CPU; for a run of minutes use "
               f"{QUICK_FLAGS}")
