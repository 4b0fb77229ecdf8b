"""The paper's experiments as resumable commands (Block et al. 2023, Figures 5 and 6 analogues).

    python -m experiments.fig5_quadrotor --config experiments/configs/fig5_quadrotor.yaml --workers 2
    python -m experiments.fig6_pusht --config experiments/configs/fig6_pusht_recipe.yaml --workers 2

:mod:`experiments.harness` is the harness (run grid, train + evaluate per run, resume, summary
CSV); each ``fig*`` module adds its evaluation environment, metrics and plot. Results go to
``results/experiments/<name>/``.
"""
