"""Empirical incremental stability (paper Definition 3.1) of composite actions."""

import dataclasses

import numpy as np
import pytest

from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, hover_to_point_trajectory
from hint_controller.stability import chunk_contraction, closed_loop_states, contraction_factor
from hint_controller.tvlqr import chunk_controllers, primitive_controllers


@pytest.fixture(scope="module")
def setup():
    quadrotor = PlanarQuadrotor()
    states, inputs = hover_to_point_trajectory(quadrotor, 480)
    # 20 Hz knots (5 model steps each), 1.2 s chunks
    chunks = chunk_controllers(quadrotor, *primitive_controllers(quadrotor, states, inputs, stride=5), knot_period=0.05, chunk_length=24)
    return quadrotor, states, inputs, chunks


def test_closed_loop_states_reproduce_the_reference_under_per_step_controllers(setup):
    quadrotor, states, inputs, _ = setup
    (chunk,) = chunk_controllers(quadrotor, *primitive_controllers(quadrotor, states[:81], inputs[:80]), knot_period=0.01, chunk_length=80)
    rollout = closed_loop_states(quadrotor, chunk, states[0])
    assert rollout.shape == (81, 6)
    np.testing.assert_allclose(rollout, states[:81], atol=1e-12)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_tvlqr_chunks_contract_and_zero_gain_chunks_expand(setup, index):
    quadrotor, states, _, chunks = setup
    chunk = chunks[index]
    start = states[index * 120]
    assert chunk_contraction(quadrotor, chunk, start, radius=1e-2, n_pairs=12) < 0.8
    open_loop = dataclasses.replace(chunk, gains=np.zeros_like(chunk.gains))
    assert chunk_contraction(quadrotor, open_loop, start, radius=1e-2, n_pairs=6) > 2.0


def test_contraction_factor_rejects_a_zero_offset(setup):
    quadrotor, states, _, chunks = setup
    with pytest.raises(ValueError):
        contraction_factor(quadrotor, chunks[0], states[0], np.zeros(6))
