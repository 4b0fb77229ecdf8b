"""Arm descriptions hint knows by name, and loading a URDF with only the joints that are commanded.

A ``urdf_path`` (controller node parameter, ``data.dynamics_options``, the arm tasks) is either a
file path or one of the names of :data:`ROBOTS`:

- ``arm3``: hint_controller's shipped planar three-link arm (``models/arm3.urdf``), small and fast,
  for tests and the effort-interface task.
- ``panda``: the Franka Emika Panda (7 revolute joints, gripper) as published in the
  ``example-robot-data`` package on PyPI (BSD-3-Clause package; the panda_description in it is
  Apache-2.0, franka_ros's model), installed by ``make setup``. Its URDF has no ros2_control
  transmissions, so it describes an arm behind a position or velocity interface, not an effort model.

:func:`load_plant` freezes every movable joint that is not commanded (e.g. the Panda's fingers,
which a separate gripper controller drives): the plant then has exactly the commanded joints.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path

from pydrake.multibody.parsing import Parser
from pydrake.multibody.plant import MultibodyPlant

MODELS = Path(__file__).resolve().parent / "models"


@dataclasses.dataclass(frozen=True)
class Robot:
    """A known arm: where its URDF is and which of its frames and joints hint uses."""

    name: str
    base_link: str
    joints: tuple[str, ...]  # the commanded joints, in the order of the model's state
    tip_frame: str  # the end effector the reaching tasks place
    urdf_locator: str  # "hint:<file in models>" or "<distribution>:<file in it>"

    @property
    def urdf_path(self) -> Path:
        where, _, file = self.urdf_locator.partition(":")
        if where == "hint":
            return MODELS / file
        try:
            path = Path(str(importlib.metadata.distribution(where).locate_file(file)))
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(f"robot {self.name!r} needs the {where} package: pip install {where} "
                                    f"(make setup installs it)") from None
        if not path.is_file():
            raise FileNotFoundError(f"robot {self.name!r}: {path} is missing from the {where} package")
        return path


ROBOTS: dict[str, Robot] = {
    "arm3": Robot("arm3", "base_link", ("joint1", "joint2", "joint3"), "link3", "hint:arm3.urdf"),
    "panda": Robot(
        "panda", "panda_link0", tuple(f"panda_joint{i}" for i in range(1, 8)), "panda_hand_tcp",
        "example-robot-data:cmeel.prefix/share/example-robot-data/robots/panda_description/urdf/panda.urdf"),
}


def resolve_urdf(urdf: str | Path | None, default: str = "arm3") -> tuple[Path, Robot | None]:
    """(URDF file, the known robot or None) of a robot name or a path; None or "" = `default`."""
    text = str(urdf) if urdf not in (None, "") else default
    if text in ROBOTS:
        return ROBOTS[text].urdf_path, ROBOTS[text]
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"URDF {text!r} is neither a file nor a known robot ({', '.join(ROBOTS)})")
    return path, None


def _movable_joint_names(root: ElementTree.Element) -> list[str]:
    return [joint.get("name", "") for joint in root.findall("joint") if joint.get("type") not in ("fixed", "floating")]


def frozen_urdf_text(urdf_path: str | Path, joints: Sequence[str]) -> str:
    """The URDF's text with every movable joint not in `joints` made fixed (at its zero position).

    Raises ValueError when a name in `joints` is not a movable joint of the URDF."""
    root = ElementTree.parse(urdf_path).getroot()
    movable = _movable_joint_names(root)
    unknown = [name for name in joints if name not in movable]
    if unknown:
        raise ValueError(f"{urdf_path}: no movable joints {unknown}; it has {movable}")
    for joint in root.findall("joint"):
        if joint.get("name") in movable and joint.get("name") not in joints:
            joint.set("type", "fixed")
            for tag in ("limit", "mimic", "axis", "dynamics", "safety_controller", "calibration"):
                for element in joint.findall(tag):
                    joint.remove(element)
    for transmission in root.findall("transmission"):  # a frozen joint's actuator would dangle
        names = {element.get("name") for element in transmission.iter("joint")}
        if names and not names & set(joints):
            root.remove(transmission)
    return ElementTree.tostring(root, encoding="unicode")


def load_plant(urdf_path: str | Path, base_link: str, joints: Sequence[str] | None = None) -> MultibodyPlant:
    """A finalized continuous-time MultibodyPlant of the URDF with `base_link` welded to the world;
    with `joints`, every other movable joint is frozen (:func:`frozen_urdf_text`)."""
    plant = MultibodyPlant(time_step=0.0)
    parser = Parser(plant)
    drake_log = logging.getLogger("drake")
    level = drake_log.level
    drake_log.setLevel(logging.ERROR)  # e.g. "safety_controller is unsupported": URDF tags Drake ignores
    try:
        if joints:
            parser.AddModelsFromString(frozen_urdf_text(urdf_path, joints), "urdf")
        else:
            parser.AddModels(str(urdf_path))
    finally:
        drake_log.setLevel(level)
    plant.WeldFrames(plant.world_frame(), plant.GetFrameByName(base_link))
    plant.Finalize()
    return plant
