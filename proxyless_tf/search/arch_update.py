"""How the architecture learns: one strategy object per `--arch_algo`, owning its schedule (how
often it updates, in weight steps) and its update (the original code's `GradientArchSearchConfig`
and `RLArchSearchConfig`). The search loop asks the strategy and never which one it is."""

from __future__ import annotations


class GradientUpdate:
  """`grad`: a gate-gradient arch step (`--arch_mode`: full_v2, two, full) on a held-out batch
  every `--arch_update_every` weight steps."""

  name = "arch step"

  def __init__(self, config, steps):
    self.config, self.steps = config, steps

  def describe(self) -> str:
    return f"grad/{self.config.arch_mode}"

  def interval(self, steps_per_epoch: int) -> int:
    del steps_per_epoch
    return self.config.arch_update_every

  def update(self, x, y) -> float:
    """One update on a held-out batch; its loss."""
    return float(self.steps.arch_step(x, y)[0])


class ReinforceUpdate:
  """`rl`: `--rl_updates_per_epoch` REINFORCE updates per epoch, each rewarding
  `--rl_samples` whole sampled architectures on one held-out batch."""

  name = "REINFORCE update"

  def __init__(self, config, steps):
    self.config, self.steps = config, steps

  def describe(self) -> str:
    return "rl"

  def interval(self, steps_per_epoch: int) -> int:
    return max(1, steps_per_epoch // self.config.rl_updates_per_epoch)

  def update(self, x, y) -> float:
    loss, _, _ = self.steps.rl_update(x, y, self.config.rl_samples)
    return float(loss)


ARCH_UPDATES = {"grad": GradientUpdate, "rl": ReinforceUpdate}


def arch_update(config, steps):
  """The strategy of `config.arch_algo` (validated by `SearchConfig.validate`)."""
  return ARCH_UPDATES[config.arch_algo](config, steps)
