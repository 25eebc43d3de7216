"""Evaluation: metrics, checkpoint evaluation, and comparison of TensorBoard runs.

The written protocol (pairs, resolution, metrics, "unavailable") is eval/protocol.md.

Modules:
    image_metrics: offline, weight-free per-sample metrics (color distance to the style, SSIM and
        edge similarity to the content).
    learned_metrics: LPIPS, FID, KID and ArtFID through torchmetrics, with their real pretrained
        loading paths and a fast, explicit "unavailable: ..." result when weights cannot be had.
    tensorboard_io: read every scalar point back from event files; find run folders under a log
        root.
    compare_runs: `python -m eval.compare_runs` -- summary table (CSV/Markdown) and plots per tag.
    loss_metrics: content and style (Gram, mean/std) losses with the VGG19 loss network at 256 x
        256.
    pairs: the content x style pairs of an evaluation (JSON/CSV manifest or the default val cross
        product).
    methods: what is evaluated -- a release checkpoint, or the Gatys optimization as a baseline row.
    random_feature_nets: small fixed random stand-ins for Inception / LPIPS (offline code-path
        tests).
    tables: metrics.csv / .json / .md and TensorBoard hparams of an evaluation.
    evaluate: `python -m eval.evaluate` -- checkpoints x pairs -> tables, grids, TensorBoard
        hparams.

Speed and memory (the benchmark table and the inference figures) live in bench/ (`python -m bench`).
"""
