"""Training loop: loss falls, checkpoints resume exactly, evaluation hook, CLI, DDP on 2 CPU processes."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hint_policy.config import HintConfig, config_from_dict, config_to_dict, load_config
from hint_policy.demos import save_demos
from hint_policy.checkpoint import load_checkpoint
from hint_policy.train import learning_rate_factor, main, train
from policy_test_utils import one_torch_thread, pd_demos  # noqa: F401  (autouse fixture)

REPO = Path(__file__).resolve().parents[2]


def tiny_config(out_dir: Path, **train_changes) -> HintConfig:
    values = {
        "data": {"dynamics": "pusht_agent", "control_stride": 5, "obs_steps": 2, "chunk_length": 4,
                 "sigma": 0.1, "noise_draws": 4},
        "model": {"denoiser": "unet", "unet_channels": [16, 32], "unet_groups": 4, "step_embed_dim": 16},
        "diffusion": {"train_steps": 20},
        "train": {"steps": 20, "batch_size": 16, "lr": 1e-3, "warmup_steps": 5, "out_dir": str(out_dir),
                  "checkpoint_every": 0, "log_every": 5, "progress": False, "threads": 1},
    }
    values["train"].update(train_changes)
    config = config_from_dict(HintConfig, values)
    config.validate()
    return config


def test_learning_rate_warms_up_then_decays_to_zero():
    assert learning_rate_factor(0, 10, 100) == pytest.approx(0.1)
    assert learning_rate_factor(9, 10, 100) == pytest.approx(1.0)
    assert learning_rate_factor(55, 10, 100) == pytest.approx(0.5)
    assert learning_rate_factor(100, 10, 100) == pytest.approx(0.0)
    assert learning_rate_factor(5, 10, 100, "constant") == pytest.approx(0.6)
    assert learning_rate_factor(100, 10, 100, "constant") == 1.0


@pytest.mark.parametrize("denoiser", ["unet", "mlp"])
def test_tiny_training_run_reduces_the_loss(tmp_path, denoiser):
    config = tiny_config(tmp_path, steps=150, batch_size=32, lr=3e-3)
    config.model.denoiser = denoiser
    config.model.unet_channels, config.model.mlp_hidden, config.model.mlp_blocks = [32, 64], 64, 2
    result = train(config, demos=pd_demos(6))
    first, last = np.mean(result.losses[:15]), np.mean(result.losses[-15:])
    assert result.step == 150 and result.checkpoint == tmp_path / "checkpoints" / "latest.pt"
    assert last < 0.7 * first, (first, last)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "start" and log[-1]["step"] == 150


@pytest.mark.parametrize("how", ["exception", "sigint", "sigterm"])
def test_interrupted_run_resumes_exactly(tmp_path, how):
    demos = pd_demos(4)
    straight = train(tiny_config(tmp_path / "straight"), demos=demos)

    def interrupt(policy, step):
        # a signal arriving anywhere in a step (here after step 8's update) stops training before
        # step 9 starts; the checkpoint then holds exactly 8 whole steps
        if how == "exception":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGINT if how == "sigint" else signal.SIGTERM)
        return {}

    interrupted = tiny_config(tmp_path / "resumed")
    interrupted.eval.every_steps = 8
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, demos=demos, eval_fn=interrupt)
    saved = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "latest.pt")
    assert saved["step"] == 8
    resumed = train(tiny_config(tmp_path / "resumed"), demos=demos, resume=True)
    assert resumed.step == 20 and resumed.losses == straight.losses[8:]
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    for key in ("model",):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), name
    for name, tensor in a["ema"]["model"].items():
        assert torch.equal(tensor, b["ema"]["model"][name]), name
    assert a["ema"]["updates"] == b["ema"]["updates"] == 20


def test_checkpoint_holds_only_plain_data(tmp_path):
    result = train(tiny_config(tmp_path, steps=3), demos=pd_demos(2))
    payload = torch.load(result.checkpoint, weights_only=True)
    assert payload["step"] == 3 and payload["layout"]["obs_steps"] == 2
    assert payload["layout"]["state_names"] == ["agent_x", "agent_y", "agent_vx", "agent_vy"]
    assert set(payload["normalizers"]) == {"obs", "action"}
    assert payload["config"]["data"]["sigma"] == 0.1
    assert not list(tmp_path.glob("checkpoints/*.tmp"))


def test_evaluation_hook_gets_a_working_policy(tmp_path):
    calls = []

    def evaluate(policy, step):
        action = policy.act(np.zeros((1, 7)), np.zeros((1, 2)), start_time=0.0)
        calls.append((step, action.length, policy.sigma))
        return {"score": float(step)}

    config = tiny_config(tmp_path, steps=10)
    config.eval.every_steps = 5
    config.eval.sigma = 0.0
    train(config, demos=pd_demos(2), eval_fn=evaluate)
    assert calls == [(5, 4, 0.0), (10, 4, 0.0)]
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["score"] for r in records if r.get("event") == "eval"] == [5.0, 10.0]


def _write_cli_inputs(tmp_path: Path, steps: int, out_name: str) -> Path:
    save_demos(tmp_path / "demos.npz", pd_demos(4))
    config = tiny_config(tmp_path / out_name, steps=steps)
    values = config_to_dict(config)
    values["data"]["demos"] = [str(tmp_path / "demos.npz")]
    path = tmp_path / f"{out_name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_command_line_overrides_and_resume(tmp_path):
    config_path = _write_cli_inputs(tmp_path, steps=6, out_name="cli")
    assert main(["--config", str(config_path), "--set", "train.steps=4", "data.sigma=0.2"]) == 0
    saved = load_checkpoint(tmp_path / "cli" / "checkpoints" / "latest.pt")
    assert saved["step"] == 4 and saved["config"]["data"]["sigma"] == 0.2
    assert load_config(tmp_path / "cli" / "config.yaml").train.steps == 4
    assert main(["--config", str(config_path), "--set", "data.sigma=0.2", "--resume"]) == 0
    assert load_checkpoint(tmp_path / "cli" / "checkpoints" / "latest.pt")["step"] == 6
    with pytest.raises(KeyError, match=r"train.stepz \(did you mean train.steps\?\)") as unknown:
        main(["--config", str(config_path), "--set", "train.stepz=3"])
    assert isinstance(unknown.value, ValueError)  # hint_policy.cli.run_main prints it as one line, status 2


def test_ddp_with_two_gloo_processes_matches_one_process(tmp_path):
    config_path = _write_cli_inputs(tmp_path, steps=6, out_name="ddp")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        str(REPO / p) for p in ("hint_controller", "hint_policy")) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "hint_policy.train", "--config", str(config_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "latest.pt")
    assert ddp["world_size"] == 2 and ddp["step"] == 6
    assert main(["--config", str(config_path), "--set", f"train.out_dir={tmp_path / 'single'}"]) == 0
    single = load_checkpoint(tmp_path / "single" / "checkpoints" / "latest.pt")
    assert single["world_size"] == 1
    # reduction order differs between one process and two (Adam divides by the root of tiny second
    # moments, which amplifies it to ~3e-5 after 6 steps); a DDP run without the gradient all-reduce
    # is off by the order of the learning rate (1e-3)
    for name, tensor in single["model"].items():
        torch.testing.assert_close(ddp["model"][name], tensor, atol=1e-4, rtol=1e-4, msg=name)


def test_config_yaml_roundtrip_and_validation(tmp_path):
    from hint_policy.config import save_config

    config = tiny_config(tmp_path)
    config.data.synthesis_options = {"r_diag": [2.0, 2.0]}
    assert load_config(save_config(config, tmp_path / "c.yaml")) == config
    with pytest.raises(ValueError, match="data.action_content"):
        load_config(tmp_path / "c.yaml", ["data.action_content=gains"])
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_config(tmp_path / "missing.yaml")
    # YAML 1.1 reads 1e-3 as a string: numbers are coerced to the field's type, words rejected
    overridden = load_config(tmp_path / "c.yaml", ["train.lr=1e-3", "train.steps=7", "data.sigma=0"])
    assert overridden.train.lr == 1e-3 and isinstance(overridden.data.sigma, float)
    with pytest.raises(TypeError, match="train.lr must be a number"):
        load_config(tmp_path / "c.yaml", ["train.lr=fast"])


def test_synthesis_options_reach_the_tvlqr_oracle():
    from hint_controller.dynamics import make_model
    from hint_controller.tvlqr import make_synthesis

    model = make_model("pusht_agent", period=0.01)
    demo = pd_demos(1, horizon=30)[0]
    states, inputs = demo.select_states(model.state_names), demo.inputs
    default = make_synthesis(model, "tvlqr", {})(states, inputs)
    expensive_input = make_synthesis(model, "tvlqr", {"r_diag": [100.0, 100.0]})(states, inputs)
    assert default.shape == (30, 2, 4)
    assert np.abs(expensive_input[0]).max() < np.abs(default[0]).max()  # costlier inputs, softer gains
    assert make_synthesis(model, "none", {}) is None
    with pytest.raises(ValueError, match="pusht_agent"):
        make_model("pusht", period=0.01)
