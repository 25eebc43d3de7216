"""Speed: one harness for every timing, FLOP count and peak memory in this repo (`python -m bench`).

Modules:
    harness: THE timer policy (warm-up, median of timed calls), the FLOP counter (CPU attention
        included), peak memory, and the reference 3x3 conv that achieved GFLOP/s is divided by.
    cases: the measured passes (stylization, optimization step, training step) and the table's sets.
    table: the benchmark table: cases -> validated rows, --compare of two result files.
    figures: the inference figures (roofline ratio, bf16 speed-up and PSNR, ViT, optimization,
        multi-scale curve, Gatys defaults, 4096^2 tiled peak memory), on the table's passes.
    report: JSON Schema validation (schema.json), the Markdown table, the B / A ratio table.
    train_step (+ plain_adain, profile_step), gpu, onnx_runtime, student (+ student_table,
        student_layers): the subcommands of `python -m bench`.
    house, behaviour, code_reach: the code's own figures (layers and arrows; a command set's
        outputs before/after a restructuring; what a reader meets).
    cpu_precision, eigh_float64, fractional_stride, inference_layout, startup, style_loss_ratio,
        video_flicker, video_ccpl, video_flow, video_stats: one measurement each behind a figure of
        docs/results*.md (`python -m bench.<name>`; each names its figure in its docstring).
"""
