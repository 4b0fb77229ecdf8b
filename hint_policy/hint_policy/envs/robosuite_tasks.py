"""The robomimic manipulation tasks Can (pick and place) and Square (nut assembly) on robosuite's
own environments, with the Franka Panda behind a joint-position interface.

**Physics and task.** robosuite's ``PickPlaceCan`` and ``NutAssemblySquare`` (MuJoCo, 2 ms
substeps): their objects, bins and pegs, their object placement and their ``_check_success``
(robomimic's success: the can in its bin's quadrant; the nut around the square peg; both with the
gripper let go and moved away). hint re-implements none of it.

**The robot interface.** A real Panda under ros2_control takes joint position commands; so does
this one. robosuite's JOINT_POSITION arm controller with absolute targets plays the robot's own
servo (torque = M (kp (q_cmd - q) - kd qd) + gravity and Coriolis compensation, held over the
period), and the hand's finger is a position-commanded joint: ``panda_finger_joint1/position`` is
the commanded finger position [m], 0 closed to 0.04 open; the second finger mirrors it (robosuite's
finger position actuators, kp 1000, 20 N). Seen from hint the arm and the finger are the
``position_servo`` model of the Panda description (:func:`make_servo_model`), whose response
(natural frequency, damping per joint) is what ``python -m hint_bringup.fit_servo`` identifies
from a step response; the primitive controllers are TVLQR on that model.

**Names.** Joints carry a real Franka's names (``panda_joint1`` .. ``panda_joint7``,
``panda_finger_joint1``, ``panda_finger_joint2``), not robosuite's ``robot0_joint1``.

**State** (what a policy may observe), in this order: the model's state (8 joint positions, then
their velocities), ``panda_finger_joint2/position``, then robomimic's low-dim observation:
``eef/x``..``eef/z`` and ``eef/qx``..``eef/qw`` (robosuite's ``robot0_eef_pos`` and
``robot0_eef_quat``, world frame, quaternion x y z w), and the 14 numbers of robomimic's
``object``: ``object/x``..``object/qw`` (the object's pose) and ``object_to_eef/x``..
``object_to_eef/qw`` (the object's pose in the gripper frame). robomimic's ``robot0_gripper_qpos``
is the two finger positions. **Input**: the model's inputs, 7 joint positions [rad] and the finger
position [m], clamped to the joint limits.

**Seeding.** robosuite draws object placement and the arm's start noise from ``env.rng``; a reset
with seed s restarts that generator from s, so equal seeds give equal episodes. **Episode**: 20 s
(robomimic's 400 steps at 20 Hz) at 100 Hz physics steps with knots every 5 steps (20 Hz); it ends
on success (reward 1) or at the limit (reward 0).

**Rendering** uses MuJoCo's offscreen renderer (``MUJOCO_GL=egl`` by default: headless, software
EGL works) from two of robosuite's cameras.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from hint_controller.dynamics.servo import JointServo
from hint_controller.pose import pose_state_names
from hint_policy.envs.base import Env, StepInfo

# MuJoCo picks its rendering backend when first imported: headless EGL unless the user chose one
os.environ.setdefault("MUJOCO_GL", "egl")

ARM_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINT = "panda_finger_joint1"
MIRRORED_FINGER_JOINT = "panda_finger_joint2"
#: the finger's commanded position range [m] (robosuite's finger actuator range)
FINGER_RANGE = (0.0, 0.04)
EEF_STATE_NAMES = pose_state_names("eef")
#: robomimic's 14-number object observation: the object's pose, and its pose in the gripper frame
OBJECT_STATE_NAMES = pose_state_names("object") + pose_state_names("object_to_eef")
#: robosuite's name of each task and of its object
TASKS = {"can": ("PickPlaceCan", "Can"), "square": ("NutAssemblySquare", "SquareNut")}
#: the servo response of robosuite's joint-position controller (kp 50, damping ratio 1) per arm
#: joint and of its finger actuator, identified from 0.2 rad (finger: 0.019 m) step responses from
#: the reset pose with hint_controller.dynamics.servo.fit_position_step (RMS fit error 0.07-1.3 mrad)
NATURAL_FREQUENCY = (7.06, 7.04, 7.03, 7.0, 7.01, 6.79, 6.75, 40.0)  # rad/s
DAMPING = (1.014, 1.023, 1.037, 1.049, 1.084, 1.103, 1.166, 2.39)

INSTALL_HINT = "robosuite is not installed: run `make setup` (it installs requirements/robosuite.txt)"


def make_servo_model(period: float = 0.01, natural_frequency: tuple[float, ...] | None = None,
                     damping: tuple[float, ...] | None = None) -> JointServo:
    """The Panda's arm joints and finger behind the position interface (the Panda description's
    limits), with the servo response of robosuite's controllers by default."""
    joints = (*ARM_JOINTS, FINGER_JOINT)
    return JointServo.from_urdf(
        "panda", "position", period, joints=joints,
        natural_frequency=natural_frequency or NATURAL_FREQUENCY, damping=damping or DAMPING,
    )


def _import_robosuite():
    try:
        import robosuite
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    import logging

    logging.getLogger("robosuite_logs").setLevel(logging.ERROR)
    return robosuite


def joint_position_controller_config() -> dict:
    """robosuite's BASIC composite controller with the arm on its JOINT_POSITION controller taking
    absolute joint targets, and the GRIP gripper controller."""
    robosuite = _import_robosuite()
    from robosuite.controllers import load_composite_controller_config

    config = load_composite_controller_config(controller="BASIC", robot="Panda")
    parts = Path(robosuite.__file__).parent / "controllers" / "config" / "default" / "parts"
    arm = json.loads((parts / "joint_position.json").read_text())
    arm["input_type"] = "absolute"
    arm["gripper"] = config["body_parts"]["right"]["gripper"]
    config["body_parts"]["right"] = arm
    return config


@dataclasses.dataclass(frozen=True)
class RobosuiteTaskConfig:
    physics_period: float = 0.01  # s, one robosuite control step (5 MuJoCo substeps)
    control_stride: int = 5  # 20 Hz knots
    max_time: float = 20.0  # s
    render_size: tuple[int, int] = (240, 320)  # height, width of each camera view
    cameras: tuple[str, ...] = ("agentview", "frontview")


class RobosuiteTaskEnv(Env):
    """One robomimic task on robosuite with the Panda behind a position interface (module docstring)."""

    task: str  # key of TASKS

    def __init__(self, config: RobosuiteTaskConfig | None = None) -> None:
        self.config = c = config or RobosuiteTaskConfig()
        robosuite = _import_robosuite()
        self.name = self.task
        self.physics_period = c.physics_period
        self.control_stride = c.control_stride
        self.max_steps = int(round(c.max_time / c.physics_period))
        self.model = make_servo_model(c.physics_period)
        self.state_names = (*self.model.state_names, f"{MIRRORED_FINGER_JOINT}/position", *EEF_STATE_NAMES,
                            *OBJECT_STATE_NAMES)
        self.input_names = tuple(self.model.input_names)
        env_name, self.object_name = TASKS[self.task]
        control_freq = 1.0 / c.physics_period
        if abs(control_freq - round(control_freq)) > 1e-9:
            raise ValueError(f"physics_period must be 1 / an integer rate, got {c.physics_period}")
        self.sim_env = robosuite.make(
            env_name, robots="Panda", controller_configs=self._controller_config(),
            has_renderer=False, has_offscreen_renderer=False, use_camera_obs=False,
            control_freq=int(round(control_freq)), reward_shaping=False, ignore_done=True, hard_reset=False,
            horizon=10 * self.max_steps + 10,
        )
        self.robot = self.sim_env.robots[0]
        self.gripper = self.robot.gripper["right"]
        self._renderer = None
        self._observation: dict[str, np.ndarray] = {}
        self.steps = 0
        self.lift = 0.0
        self._lowest = 0.0

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int) -> np.ndarray:
        self.sim_env.rng.bit_generator.state = np.random.default_rng(int(seed)).bit_generator.state
        self.sim_env.reset()
        self._observation = self.sim_env._get_observations(force_update=True)
        self.steps = 0
        state = self.state
        self._lowest = float(state[self.state_names.index("object/z")])
        self.lift = 0.0
        return state

    def reset_to(self, state: np.ndarray) -> np.ndarray:
        """Put the simulation at a measured full state (an expert's private copy rolls out from
        it): joint and finger positions and velocities, the object's pose (at rest: its velocity
        is not observed). Other bodies stay where the last reset put them."""
        state = np.asarray(state, dtype=float)
        if state.shape != (len(self.state_names),) or not np.all(np.isfinite(state)):
            raise ValueError(f"expected {len(self.state_names)} finite values for {list(self.state_names)}")
        index = {name: i for i, name in enumerate(self.state_names)}
        sim = self.sim_env.sim
        arm = [index[f"{joint}/position"] for joint in ARM_JOINTS]
        sim.data.qpos[self.robot._ref_joint_pos_indexes] = state[arm]
        sim.data.qvel[self.robot._ref_joint_vel_indexes] = state[[index[f"{joint}/velocity"] for joint in ARM_JOINTS]]
        fingers = self.robot._ref_gripper_joint_pos_indexes["right"]
        sim.data.qpos[fingers] = state[[index[f"{FINGER_JOINT}/position"], index[f"{MIRRORED_FINGER_JOINT}/position"]]]
        sim.data.qvel[self.robot._ref_gripper_joint_vel_indexes["right"]] = 0.0
        pose = state[[index[name] for name in pose_state_names("object")]]
        joint = self._object_joint()
        sim.data.set_joint_qpos(joint, np.concatenate([pose[:3], pose[[6, 3, 4, 5]]]))  # MuJoCo: w x y z
        sim.data.set_joint_qvel(joint, np.zeros(6))
        sim.forward()
        self._observation = self.sim_env._get_observations(force_update=True)
        self.steps = 0
        return self.state

    def _object_joint(self) -> str:
        raise NotImplementedError

    def _controller_config(self) -> dict:
        """robosuite's controller configuration of the arm and gripper."""
        return joint_position_controller_config()

    def _arm_action(self, u_arm: np.ndarray) -> np.ndarray:
        """robosuite's arm action for the (clamped) arm inputs: the joint position targets."""
        return u_arm

    def step(self, u: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Hold the commanded joint and finger positions `u` (clamped to the limits) for one period."""
        u = self.model.clamp(np.asarray(u, dtype=float))
        lower, upper = FINGER_RANGE
        opening = 2.0 * (u[-1] - lower) / (upper - lower) - 1.0  # robosuite's finger actuator scale
        self.gripper.current_action = np.array([opening, -opening])
        # the gripper's own action 0 leaves the finger targets set above unchanged
        self._observation, _, _, _ = self.sim_env.step(np.concatenate([self._arm_action(u[:-1]), [0.0]]))
        self.steps += 1
        state = self.state
        height = float(state[self.state_names.index("object/z")])
        self._lowest = min(self._lowest, height)
        self.lift = max(self.lift, height - self._lowest)
        success = bool(self.sim_env._check_success())
        return state, StepInfo(reward=1.0 if success else 0.0, success=success, timeout=self.steps >= self.max_steps)

    @property
    def state(self) -> np.ndarray:
        o, prefix = self._observation, self.object_name
        gripper = o["robot0_gripper_qpos"]
        return np.concatenate([
            o["robot0_joint_pos"], [gripper[0]], o["robot0_joint_vel"], [self._finger_velocity()], [gripper[1]],
            o["robot0_eef_pos"], o["robot0_eef_quat"],
            o[f"{prefix}_pos"], o[f"{prefix}_quat"], o[f"{prefix}_to_robot0_eef_pos"], o[f"{prefix}_to_robot0_eef_quat"],
        ]).astype(float)

    def _finger_velocity(self) -> float:
        return float(self.sim_env.sim.data.qvel[self.robot._ref_gripper_joint_vel_indexes["right"][0]])

    def episode_metrics(self) -> dict[str, float]:
        """``object_lift``: the object's highest rise above its lowest point [m] so far."""
        return {"object_lift": self.lift}

    # ------------------------------------------------------------------ task geometry (experts)
    def object_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The object's position [m] and rotation matrix in the world frame."""
        data = self.sim_env.sim.data
        body = self.sim_env.sim.model.body_name2id(self._object_body())
        return data.body_xpos[body].copy(), data.body_xmat[body].reshape(3, 3).copy()

    def _object_body(self) -> str:
        raise NotImplementedError

    def success(self) -> bool:
        return bool(self.sim_env._check_success())

    # ------------------------------------------------------------------ rendering
    def render(self) -> np.ndarray:
        """RGB frame: robosuite's cameras side by side (MuJoCo offscreen rendering)."""
        import mujoco

        height, width = self.config.render_size
        if self._renderer is None:
            try:
                self._renderer = mujoco.Renderer(self.sim_env.sim.model._model, height, width)
            except mujoco.FatalError as error:
                raise RuntimeError(
                    f"MuJoCo cannot render ({error}): set MUJOCO_GL=egl (or osmesa) before anything imports mujoco"
                ) from error
        frames = []
        for camera in self.config.cameras:
            self._renderer.update_scene(self.sim_env.sim.data._data, camera=camera)
            frames.append(self._renderer.render().copy())
        return np.hstack(frames)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.sim_env.close()


class CanEnv(RobosuiteTaskEnv):
    """robomimic Can: pick the can from the left bin and place it in its quadrant of the right bin."""

    task = "can"

    def _object_body(self) -> str:
        return self.sim_env.objects[self.sim_env.object_id].root_body

    def _object_joint(self) -> str:
        return self.sim_env.objects[self.sim_env.object_id].joints[0]

    def target_position(self) -> np.ndarray:
        """The centre of the can's target quadrant in the right bin (world frame) [m]."""
        return np.array(self.sim_env.target_bin_placements[self.sim_env.object_id], dtype=float)

    def bin_centre(self) -> np.ndarray:
        return np.array(self.sim_env.bin2_pos, dtype=float)


class SquareEnv(RobosuiteTaskEnv):
    """robomimic Square: pick the square nut by its handle and drop it over the square peg."""

    task = "square"

    def _object_body(self) -> str:
        return self.sim_env.nuts[self.sim_env.nut_id].root_body

    def _object_joint(self) -> str:
        return self.sim_env.nuts[self.sim_env.nut_id].joints[0]

    def peg_position(self) -> np.ndarray:
        """The square peg's position (world frame) [m]."""
        return self.sim_env.sim.data.body_xpos[self.sim_env.peg1_body_id].copy()

    def handle_position(self) -> np.ndarray:
        """The nut handle's site position (world frame) [m]."""
        site = self.sim_env.sim.model.site_name2id(self.sim_env.nuts[self.sim_env.nut_id].important_sites["handle"])
        return self.sim_env.sim.data.site_xpos[site].copy()
