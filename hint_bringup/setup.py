from glob import glob

from setuptools import find_packages, setup

package_name = "hint_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
        ("share/" + package_name + "/checkpoints", glob("checkpoints/*.pt")),
    ],
    install_requires=["setuptools"],
    # colcon test runs each package's tests with pytest (the workspace's pytest.ini and conftest.py apply)
    extras_require={"test": ["pytest"]},
    zip_safe=True,
    maintainer="hint maintainers",
    maintainer_email="maintainers@hint.invalid",
    description="Launch files, config, simulator and recorder nodes, launch-free runner, bag conversion.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "sim_node = hint_bringup.sim_node:main",
            "recorder_node = hint_bringup.recorder_node:main",
            "expert_node = hint_bringup.expert_node:main",
            "teleop_node = hint_bringup.teleop_node:main",
            "bag_to_dataset = hint_bringup.bag_to_dataset:main",
            "to_lerobot = hint_bringup.to_lerobot:main",
            "fit_servo = hint_bringup.fit_servo:main",
            "run = hint_bringup.run:main",
        ],
    },
)
