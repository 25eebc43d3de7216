#!/usr/bin/env bash
# Train (or continue) the hed-adain release and export it into this folder.
#   bash releases/hed-adain/train.sh [train.steps=N ...]
# 1. builds the offline set (python -m data_prep.offline: deterministic, no network)
# 2. stage 1: trains configs/hed_adain.yaml (the AdaIN paper's losses) into $RUN_DIR (default
#    runs/hed_adain) for STAGE1_STEPS (5000) steps
# 3. stage 2: fine-tunes stage 1's last step with configs/hed_adain_ft.yaml (more weight on the low
#    style layers, the content term at relu3_1 + relu4_1) into ${RUN_DIR}_ft; extra arguments are its
#    config overrides (train.steps=4000 continues a finished stage 2 further)
#    Each stage resumes exactly when its folder already holds checkpoints, so the training can be
#    spread over as many sessions as it takes.
# 4. exports stage 2 as a bfloat16 release with its model card (command, steps, wall time, CPU, final
#    losses) into releases/hed-adain, which `--checkpoint hed-adain` reads
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python
run=${RUN_DIR:-runs/hed_adain}  # relative to the repo: the model card records the command as typed
stage1_steps=${STAGE1_STEPS:-5000}
cd "$repo"

resume() { [ -d "$1/checkpoints" ] && echo --resume latest || true; }
"$py" -m data_prep.offline --out data/offline
# shellcheck disable=SC2046  # resume's output is zero or two words
"$py" train.py --config configs/hed_adain.yaml --run-dir "$run" $(resume "$run") \
    train.steps="$stage1_steps"
init=$(printf '%s/checkpoints/step_%06d' "$run" "$stage1_steps")
# shellcheck disable=SC2046
"$py" train.py --config configs/hed_adain_ft.yaml --run-dir "${run}_ft" $(resume "${run}_ft") \
    model.init_from="$init" "$@"
"$py" export.py --checkpoint "${run}_ft" --hub releases/hed-adain --dtype bfloat16 --overwrite
