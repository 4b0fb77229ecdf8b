"""The pipeline's modules import in one direction: what loads and runs a trained policy never
imports training, and training imports the evaluation harness only where its CLI builds one;
the nodes' ROS-free cores never import ROS."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: module -> modules it must not load (in a fresh interpreter)
LAYERS = {
    "hint_policy.checkpoint": ["hint_policy.train", "hint_policy.inference"],
    # the data pipeline, stage by stage and as a whole, below training, inference and the networks
    **{f"hint_policy.training_data{stage}": ["hint_policy.train", "hint_policy.inference", "hint_policy.diffusion"]
       for stage in ("", ".demo_sources", ".synthesis", ".chunks", ".normalizers", ".noised_dataset")},
    "hint_policy.diffusion.factory": ["hint_policy.train", "hint_policy.inference", "hint_policy.training_data"],
    "hint_policy.inference": ["hint_policy.train", "hint_policy.evaluate"],
    "hint_policy.baselines": ["hint_policy.train", "hint_policy.evaluate"],
    "hint_policy.evaluate": ["hint_policy.train"],
    "hint_policy.export": ["hint_policy.train", "hint_policy.inference"],
    "hint_policy.train": ["hint_policy.evaluate", "hint_policy.envs"],
    "hint_controller.tvlqr": ["hint_policy"],
    "hint_controller.dynamics": ["hint_policy", "pydrake"],
    # the ROS-free cores of the nodes: testable and usable without ROS
    "hint_bringup.simulation": ["rclpy", "hint_msgs"],
    "hint_bringup.teleop": ["rclpy", "hint_msgs"],
    "hint_bringup.expert_chunks": ["rclpy", "hint_msgs"],
    "hint_bringup.bags": ["rclpy"],
}


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_module_imports_without_the_layers_above_it(module):
    forbidden = LAYERS[module]
    script = (
        f"import sys, {module}\n"
        f"print([m for m in {forbidden!r} if m in sys.modules or any(k.startswith(m + '.') for k in sys.modules)])"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", f"importing {module} loads {result.stdout.strip()}"
