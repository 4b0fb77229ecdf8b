"""From demonstrations to HINT training samples (Algorithm 1 of Block et al. 2023).

Time grid. Demos are recorded at the physics period: states x_0..x_T (``demo.states``, T+1 rows)
and inputs u_0..u_{T-1} (``demo.inputs``), u_t being applied during the step from x_t to x_{t+1}.
Knots lie every ``control_stride`` physics steps.

A data config (:class:`hint_policy.config.DataConfig`) passes through one module per stage, in
the order the data runs through them:

1. :mod:`~hint_policy.training_data.demo_sources`: the demos ``data.demos`` lists (.npz files,
   LeRobot datasets), the unsuccessful ones dropped and the first ``num_demos`` kept.
2. :mod:`~hint_policy.training_data.synthesis`: the dynamics model of the controlled subsystem at
   the demos' period and the synthesis oracle; per demo the primitive controllers
   (x_ref, u_ff, K) at every physics step.
3. :mod:`~hint_policy.training_data.chunks`: per knot h the observation chunk o_h of the
   tau_obs = ``obs_steps`` knots up to h and the composite action a_h of the
   tau_chunk = ``chunk_length`` primitives from h, in raw units, and their :class:`ChunkLayout`.
4. :mod:`~hint_policy.training_data.normalizers`: per-coordinate scaling of observations and
   actions to [-1, 1], fitted on the chunks.
5. :mod:`~hint_policy.training_data.noised_dataset`: the normalized chunks with observations
   perturbed by sigma times unit noise, N_aug = ``noise_draws`` draws per sample: the torch
   Dataset training draws its minibatches from.

:func:`build_training_data` runs the stages in this order. Inference (:mod:`hint_policy.inference`)
forms its observations with stage 3's functions and scales them with stage 4's normalizers.
"""

from __future__ import annotations

from collections.abc import Sequence

from hint_controller.dynamics.base import DynamicsModel
from hint_controller.tvlqr import SynthesisFn
from hint_policy.config import DataConfig
from hint_policy.demos import Demo, select_demos
from hint_policy.training_data.chunks import ChunkArrays, ChunkLayout, build_chunks
from hint_policy.training_data.demo_sources import config_demos
from hint_policy.training_data.noised_dataset import HintDataset
from hint_policy.training_data.normalizers import Normalizers, fit_normalizers
from hint_policy.training_data.synthesis import data_model, data_synthesis


def training_chunks(
    data: DataConfig,
    demos: Sequence[Demo] | None = None,
    model: DynamicsModel | None = None,
    synthesize: SynthesisFn | None = None,
) -> tuple[ChunkArrays, ChunkLayout]:
    """Stages 1 to 3: the raw chunks and their layout that `data` describes.

    Each argument left None is made as `data` says: `demos` from ``data.demos`` (given demos are
    filtered and cut the same way), `model` from ``data.dynamics`` at the demos' period,
    `synthesize` from ``data.synthesis`` ("none": zero gains).
    """
    demos = config_demos(data) if demos is None else select_demos(demos, data.only_successful, data.num_demos)
    if model is None:
        model = data_model(data, demos[0].period)
    if synthesize is None:
        synthesize = data_synthesis(data, model)
    return build_chunks(demos, model, synthesize, data)


def build_training_data(
    data: DataConfig,
    demos: Sequence[Demo] | None = None,
    model: DynamicsModel | None = None,
    synthesize: SynthesisFn | None = None,
    normalizers: Normalizers | None = None,
) -> tuple[HintDataset, ChunkLayout, Normalizers]:
    """Stages 1 to 5: the noised dataset, the chunk layout and the normalizers (fitted on the
    chunks unless given, e.g. from a checkpoint); `demos`, `model` and `synthesize` as in
    :func:`training_chunks`."""
    chunks, layout = training_chunks(data, demos, model, synthesize)
    if normalizers is None:
        normalizers = fit_normalizers(chunks)
    return HintDataset.from_config(chunks, normalizers, data), layout, normalizers
