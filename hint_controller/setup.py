from glob import glob

from setuptools import find_packages, setup

package_name = "hint_controller"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={package_name: ["models/*.urdf", "fastdds_controller.xml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/models", glob("hint_controller/models/*.urdf")),
    ],
    install_requires=["setuptools"],
    # colcon test runs each package's tests with pytest (the workspace's pytest.ini and conftest.py apply)
    extras_require={"test": ["pytest"]},
    zip_safe=True,
    maintainer="hint maintainers",
    maintainer_email="maintainers@hint.invalid",
    description="Drake TVLQR synthesis oracle, chunk executor and high-rate controller node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "controller_node = hint_controller.controller_node:main",
        ],
    },
)
