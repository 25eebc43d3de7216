"""Speed: one harness for every timing, FLOP count and peak memory in this repo (`python -m bench`).

Modules:
    harness: THE timer policy (warm-up, median of timed calls), the FLOP counter (CPU attention
        included), peak memory, and the reference 3x3 conv that achieved GFLOP/s is divided by.
    cases: the measured passes (stylization, optimization step, training step) and the table's sets.
    table: the benchmark table: cases -> validated rows, --compare of two result files.
    figures: the inference figures (roofline ratio, bf16 speed-up and PSNR, ViT, optimization,
        multi-scale curve, Gatys defaults, 4096^2 tiled peak memory), on the table's passes.
    report: JSON Schema validation (schema.json), the Markdown table, the B / A ratio table.
"""
