"""Evaluation: metrics, checkpoint evaluation, and comparison of TensorBoard runs.

The written protocol (pairs, resolution, metrics, "unavailable") is eval/protocol.md.

Modules:
    image_metrics: offline, weight-free per-sample metrics (color distance to the style, SSIM and
        edge similarity to the content).
    learned_metrics: LPIPS, FID, KID and ArtFID over a set of images through torchmetrics, with a
        fast, explicit "unavailable: ..." result when a network cannot be had.
    metric_nets: the learned metrics' networks and their offline-safe weight loading.
    loss_metrics: content and style (Gram, mean/std) losses with the VGG19 loss network at 256 x
        256.
    pairs: the content x style pairs of an evaluation (JSON/CSV manifest or the default val cross
        product).
    methods: what is evaluated -- a release checkpoint, or the Gatys optimization as a baseline row
        -- and how each is run over the pairs.
    score: one evaluation row: every metric family's mean over a method's outputs.
    random_feature_nets: small fixed random stand-ins for Inception / LPIPS (offline code-path
        tests).
    tables: metrics.csv / .json / .md and TensorBoard hparams of an evaluation.
    evaluate: `python -m eval.evaluate` -- checkpoints x pairs -> tables, grids, TensorBoard
        hparams.
    variant_configs: the research variants (the recipe and one change each) and their configs.
    variants: `python -m eval.variants` -- train every variant, compare curves, evaluate.

Packages:
    runs: `python -m eval.runs` -- compare training runs: summary table (CSV/Markdown) and plots per
        TensorBoard tag.
    styleid: `python -m eval.styleid` -- StyleID's protocol (ArtFID, FID, LPIPS, CFSD), defined as
        in StyleID's code (eval/styleid/protocol.md).

Speed and memory (the benchmark table and the inference figures) live in bench/ (`python -m bench`).
"""
