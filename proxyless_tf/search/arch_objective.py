"""What the arch step minimises: the loss alone, a latency loss against a reference latency
(`add_linear`, `mul_log`), or a requested latency held by a controller; refused in one line when
the cost model cannot serve it."""

from __future__ import annotations

import tensorflow as tf

from proxyless_tf.errors import UserError
from proxyless_tf.latency.cost_model import ExpectedCost
from proxyless_tf.search.steps import ArchObjective
from proxyless_tf.search.target_latency import LatencyController, resolve_request


def choose_objective(config, space, cost_model, log=print):
  """(objective, controller, request): how the arch step weighs latency (accuracy alone, a latency
  loss, or a requested latency with the controller that holds it there) and the resolved
  request (None unless --target_latency)."""
  objective = ArchObjective(form="none")
  if config.target_latency and cost_model is None:
    raise UserError("--target_latency needs a cost model: pass --target=cpu|mobile|gpu|flops")
  if cost_model is not None:
    cost_model.prepare(space)
  controller = request = None
  if config.target_latency:
    # requested latency: the additive form, its weight set by the controller
    expected = ExpectedCost(cost_model, space)
    request = resolve_request(config.target_latency, expected, space, cost_model.unit)
    if request["ratio"] is not None:
      log(f"requested latency: {request['ratio']:g}x the reference net "
          f"({request['reference_name']}: {request['reference']:.4g} {cost_model.unit} on "
          f"{cost_model.name}) = {request['target']:.4g} {cost_model.unit}")
    controller = LatencyController(request["target"], config.target_latency_rate)
    objective = ArchObjective(expected, request["target"], "add_linear",
                              controller=controller)
  elif cost_model is not None and config.latency_loss != "none":
    if config.latency_loss == "mul_log" and config.ref_latency <= 1.0:
      raise UserError(f"--latency_loss=mul_log needs --ref_latency > 1 (log(ref) is the "
                      f"normalizer), got {config.ref_latency}; use --latency_loss=add_linear")
    expected = ExpectedCost(cost_model, space)
    lowest = expected.model.offset + expected.model.scale * (
        expected.fixed + sum(float(tf.reduce_min(c)) for c in expected.per_op))
    if config.latency_loss == "mul_log" and lowest <= 1.0:
      raise UserError(f"--latency_loss=mul_log needs latencies > 1 (it takes their log), but "
                      f"this space can reach {lowest:.3g} {cost_model.unit}; use "
                      "--latency_loss=add_linear")
    objective = ArchObjective(expected, config.ref_latency, config.latency_loss,
                              config.loss_alpha, config.loss_beta,
                              config.loss_lambda)
  return objective, controller, request
