#!/usr/bin/env bash
# Offline quickstart: the whole pipeline on a fresh machine with no network, in a few CPU minutes.
#   1. build the small real-image sample set (photos shipped inside scikit-image + generated textures)
#   2. smoke-train a VGG encoder + mirror decoder with RANDOM weights (configs/smoke.yaml)
#   3. stylize every validation content with every validation style, and write a content x style grid
# Offline the encoder and loss network are random, so the pictures show the pipeline, not the quality.
# Extra arguments are passed to train.py as config overrides (e.g. `bash quickstart.sh train.steps=10`);
# QUICKSTART_DIR puts data/, runs/ and outputs/ somewhere other than the repo root. It runs any number of
# times: each run replaces its own outputs (runs/quickstart, outputs/quickstart) and nothing else.
set -euo pipefail
repo=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python
root=${QUICKSTART_DIR:-$repo}
cd "$repo"

"$py" -m data_prep.sample --out "$root/data/sample"
rm -rf "$root/runs/quickstart"  # the quickstart's own run folder: start fresh every time
"$py" train.py --config configs/smoke.yaml --run-dir "$root/runs/quickstart" data.root="$root/data/sample" "$@"
"$py" infer.py --checkpoint "$root/runs/quickstart/model.safetensors" \
    --content "$root/data/sample/content/val" --style "$root/data/sample/style/val" \
    --out "$root/outputs/quickstart" --size 256 --grid --overwrite
echo "quickstart done: stylized images and grid.png in $root/outputs/quickstart (random weights: pipeline only)"
