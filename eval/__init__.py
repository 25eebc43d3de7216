"""Evaluation: image metrics (weight-free and learned) and comparison of TensorBoard runs.

Modules:
    image_metrics: offline, weight-free per-sample metrics (color distance to the style, SSIM and
        edge similarity to the content).
    learned_metrics: LPIPS, FID, KID and ArtFID through torchmetrics, with their real pretrained
        loading paths and a fast, explicit "unavailable: ..." result when weights cannot be had.
    tensorboard_io: read every scalar point back from event files; find run folders under a log root.
    compare_runs: `python -m eval.compare_runs` -- summary table (CSV/Markdown) and plots per tag.
"""
