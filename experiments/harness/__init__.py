"""The experiment harness: a grid of training runs, each trained then evaluated, resumable.

Modules, in the order a sweep uses them:

* :mod:`.spec`: the experiment config's schema (:class:`~.spec.ExperimentSpec`);
* :mod:`.grid`: reading a config (:func:`~.grid.load_spec`), its runs and each run's training config;
* :mod:`.demos`: the demos each run trains on;
* :mod:`.staleness`: the hashes that tie results to their settings, result files, what is done or stale;
* :mod:`.scoring`: a run's score from its evaluated checkpoints;
* :mod:`.runner`: training and evaluating one run, and a sweep of them;
* :mod:`.dispatch`: where the runs go: this process, a local Ray instance or a Ray cluster;
* :mod:`.summaries`: mean and spread across seeds, ``summary.csv`` and the figure;
* :mod:`.budget`: the CPU-time estimate of ``--dry-run``;
* :mod:`.plots`: figure helpers shared by the experiments;
* :mod:`.cli`: the command line every experiment module shares.
"""
