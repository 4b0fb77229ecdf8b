"""Exact incremental-stability certificates (paper Definition 3.1), cross-checked by finite differences."""

import dataclasses

import numpy as np
import pytest

from hint_controller.dynamics.planar_quadrotor import PlanarQuadrotor, hover_to_point_trajectory
from hint_controller.stability import certificate_of_run, certified, certify, closed_loop, transition_matrices
from hint_controller.tvlqr import chunk_controllers, primitive_controllers


@pytest.fixture(scope="module")
def setup():
    quadrotor = PlanarQuadrotor()
    states, inputs = hover_to_point_trajectory(quadrotor, 480)
    # the quadrotor policy's layout: 16 knots of 5 model steps (20 Hz), 0.8 s chunks
    chunks = chunk_controllers(quadrotor, *primitive_controllers(quadrotor, states, inputs, stride=5),
                               knot_period=0.05, chunk_length=16, final_state=states[-1])
    return quadrotor, states, chunks


def test_transition_matrix_matches_finite_differences_of_the_executed_chunk(setup):
    quadrotor, _, chunks = setup
    chunk = chunks[1]
    start = chunk.x_ref[0] + np.array([0.02, -0.01, 0.01, 0.05, -0.03, 0.02])  # off the reference
    run = closed_loop(quadrotor, [chunk], start)
    _, phi = certificate_of_run(quadrotor, run)
    eps = 1e-6
    columns = [
        (closed_loop(quadrotor, [chunk], start + eps * e).states[-1] - closed_loop(quadrotor, [chunk], start - eps * e).states[-1]) / (2 * eps)
        for e in np.eye(6)
    ]
    np.testing.assert_allclose(np.stack(columns, axis=1), phi[-1], rtol=1e-5, atol=1e-6)


def test_input_gain_is_attained_by_the_worst_bounded_disturbance(setup):
    quadrotor, _, chunks = setup
    chunk = chunks[1]
    run = closed_loop(quadrotor, [chunk], chunk.x_ref[0])
    certificate, phi = certificate_of_run(quadrotor, run)
    m_steps, b = transition_matrices(quadrotor, run)
    # independently of the certificate's recursion: Phi(i, j+1) B_j = M_{i-1} ... M_{j+1} B_j
    best = (0.0, 0, 0, None)
    for i in range(1, len(phi)):
        blocks, product = [], np.eye(6)
        for j in range(i - 1, -1, -1):
            blocks.insert(0, product @ b[j])
            product = product @ m_steps[j]
        response = np.hstack(blocks)
        row = int(np.abs(response).sum(axis=1).argmax())
        gain = float(np.abs(response[row]).sum())
        if gain > best[0]:
            best = (gain, i, row, response[row])
    gain, i, row, worst_row = best
    assert certificate.input_gain == pytest.approx(gain, rel=1e-9)
    eps = 1e-5
    disturbance = np.zeros_like(run.inputs)
    disturbance[:i] = eps * np.sign(worst_row).reshape(i, 2)
    disturbed = closed_loop(quadrotor, [chunk], chunk.x_ref[0], input_disturbance=disturbance)
    assert abs(disturbed.states[i, row] - run.states[i, row]) / eps == pytest.approx(gain, rel=1e-3)


def test_certificate_norms_are_those_of_the_transition_matrices(setup):
    quadrotor, _, chunks = setup
    run = closed_loop(quadrotor, [chunks[2]], chunks[2].x_ref[0])
    certificate, phi = certificate_of_run(quadrotor, run)
    singular = [np.linalg.svd(p, compute_uv=False)[0] for p in phi[1:]]
    assert certificate.contraction == pytest.approx(singular[-1], rel=1e-12)
    assert certificate.transient_gain == pytest.approx(max(singular), rel=1e-12)
    assert certificate.transient_gain >= certificate.contraction


def test_tvlqr_gains_contract_where_the_open_loop_expands(setup):
    quadrotor, _, chunks = setup
    for chunk in chunks[:3]:
        closed = certify(quadrotor, chunk)
        open_loop = certify(quadrotor, dataclasses.replace(chunk, gains=np.zeros_like(chunk.gains)))
        assert open_loop.contraction > 2.0 and closed.contraction < 0.5 * open_loop.contraction
        assert closed.input_gain < open_loop.input_gain


def test_certified_fills_in_the_certificate_from_the_chunks_own_reference(setup):
    quadrotor, _, chunks = setup
    chunk = certified(quadrotor, chunks[0])
    assert chunk.certificate == certify(quadrotor, chunks[0], chunks[0].x_ref[0])
    assert chunks[0].certificate is None
