"""Run comparison: TensorBoard curves of several training runs side by side.

    python -m eval.runs runs/ --out reports/cmp

Modules:
    compare: the command's flags and main(), and `compare_runs` (`python -m eval.runs`).
    tensorboard_io: read every scalar point back from event files; find run folders under a log
        root.
    summary: the comparison table's rows (final, best, smoothed, aligned), CSV/Markdown.
    config_diff: the config keys that differ between runs and the tags those redefine.
    curve_plots: the curves as TensorBoard draws them (debiased EMA over the raw curve).
"""
