"""Expert demonstrators (PushT push planner, quadrotor trajectory optimization + TVLQR) and the
``generate`` command that writes demo datasets."""
