"""Exported policies sample exactly like the training checkpoint they came from."""

import numpy as np

from hint_policy.export import export_policy
from hint_policy.inference import HintPolicy
from policy_test_utils import train_tiny  # same folder


def test_exported_policy_is_smaller_and_acts_identically(tmp_path):
    checkpoint, demos = train_tiny(tmp_path / "train")
    exported = export_policy(checkpoint, tmp_path / "policy.pt")
    assert exported.stat().st_size < checkpoint.stat().st_size
    history = demos[0].states[[10, 15]], demos[0].inputs[[9, 14]]
    original = HintPolicy.from_checkpoint(checkpoint, seed=4).act(*history, start_time=1.0)
    slim = HintPolicy.from_checkpoint(exported, seed=4).act(*history, start_time=1.0)
    np.testing.assert_array_equal(original.x_ref, slim.x_ref)
    np.testing.assert_array_equal(original.gains, slim.gains)
