"""Stage 2: the dynamics model, the synthesis oracle, and the primitive controllers of each demo.

The model (``data.dynamics`` with ``data.dynamics_options``, a name of
:func:`hint_controller.dynamics.make_model`) is the controlled subsystem: its ``state_names``
(n) and ``input_names`` (m) pick the demo columns that primitives are made of. The synthesis
oracle (``data.synthesis`` with ``data.synthesis_options``, :func:`hint_controller.tvlqr.make_synthesis`)
``synthesize(model_states, inputs) -> gains (T, m, n)`` is called once per demo on its whole
physics-rate trajectory (``model_states``: the demo's model columns, shape (T+1, n); ``inputs``:
(T, m)). The primitive of physics step t is ``x_ref = model_states[t]``, ``u_ff = inputs[t]``,
``K = gains[t]``; the chunk stage (:mod:`hint_policy.training_data.chunks`) keeps those of the knots.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hint_controller.dynamics import make_model
from hint_controller.dynamics.base import DynamicsModel
from hint_controller.names import name_indices
from hint_controller.tvlqr import SynthesisFn, make_synthesis
from hint_policy.config import DataConfig
from hint_policy.demos import Demo


def data_model(data: DataConfig, period: float = 0.01) -> DynamicsModel:
    """The dynamics model a data config names (with its options), discretized at `period`."""
    return make_model(data.dynamics, period=period, **data.dynamics_options)


def data_synthesis(data: DataConfig, model: DynamicsModel) -> SynthesisFn | None:
    """The synthesis oracle a data config names for `model` (None for ``data.synthesis`` "none")."""
    return make_synthesis(model, data.synthesis, data.synthesis_options)


def model_and_synthesis(data: DataConfig, period: float) -> tuple[DynamicsModel, SynthesisFn | None]:
    """The dynamics model (at the demos' `period`) and synthesis oracle a data config names."""
    model = data_model(data, period)
    return model, data_synthesis(data, model)


@dataclasses.dataclass
class Primitives:
    """Per-physics-step primitive controllers of one demo."""

    x_ref: np.ndarray  # (T, n)
    u_ff: np.ndarray  # (T, m)
    gains: np.ndarray  # (T, m, n)


def demo_primitives(
    demo: Demo, model: DynamicsModel, synthesize: SynthesisFn | None, action_content: str = "primitives"
) -> Primitives:
    """Primitive controllers at every physics step of `demo` for composite actions of
    `action_content` (``data.action_content``): "primitives" synthesizes the gains (0 when
    `synthesize` is None), "feedforward" leaves them 0 without calling the oracle,
    "servo_targets" puts the model's servo targets in place of u_ff, gains 0."""
    model_states = demo.select_states(model.state_names)
    inputs = demo.inputs[:, name_indices(demo.input_names, model.input_names)]
    steps, n, m = len(inputs), len(model.state_names), len(model.input_names)
    if action_content == "servo_targets":
        servo = getattr(model, "servo_targets", None)
        if servo is None:
            raise ValueError(f"data.action_content servo_targets needs a model with a servo law; {model.name!r} has none")
        zeros = np.zeros((steps, m, n))
        return Primitives(x_ref=model_states[:-1].copy(), u_ff=servo(model_states[:-1], inputs), gains=zeros)
    if synthesize is None or action_content == "feedforward":
        gains = np.zeros((steps, m, n))
    else:
        gains = np.asarray(synthesize(model_states, inputs), dtype=float)
        if gains.shape != (steps, m, n):
            raise ValueError(f"synthesis returned gains of shape {gains.shape}, expected {(steps, m, n)}")
        if not np.all(np.isfinite(gains)):
            raise ValueError(f"synthesis returned non-finite gains for demo seed {demo.seed}")
    return Primitives(x_ref=model_states[:-1].copy(), u_ff=inputs.copy(), gains=gains)
