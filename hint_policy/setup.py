from setuptools import find_packages, setup

package_name = "hint_policy"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    # colcon test runs each package's tests with pytest (the workspace's pytest.ini and conftest.py apply)
    extras_require={"test": ["pytest"]},
    zip_safe=True,
    maintainer="hint maintainers",
    maintainer_email="maintainers@hint.invalid",
    description="HINT learning: datasets, noise-augmented DDPM, sampling, simulators, experts, policy node.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "policy_node = hint_policy.policy_node:main",
            "train = hint_policy.train:main",
            "evaluate = hint_policy.evaluate:main",
            "generate_demos = hint_policy.experts.generate:main",
        ],
    },
)
