#!/usr/bin/env bash
# Train (or continue) the hed-adain release and export it into this folder.
#   bash releases/hed-adain/train.sh [train.steps=N ...]
# 1. builds the offline set (python -m data_prep.offline: deterministic, no network)
# 2. trains configs/hed_adain.yaml into $RUN_DIR (default runs/hed_adain), resuming it exactly when it
#    already holds checkpoints, so the training can be spread over as many sessions as it takes;
#    extra arguments are config overrides (train.steps=4000 continues a finished run further)
# 3. exports the run as a bfloat16 release with its model card (command, steps, wall time, CPU,
#    final losses) into releases/hed-adain, which `--checkpoint hed-adain` reads
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python
run=${RUN_DIR:-runs/hed_adain}  # relative to the repo: the model card records the command as typed
cd "$repo"

"$py" -m data_prep.offline --out data/offline
resume=()
[ -d "$run/checkpoints" ] && resume=(--resume latest)
"$py" train.py --config configs/hed_adain.yaml --run-dir "$run" "${resume[@]}" "$@"
"$py" export.py --checkpoint "$run" --hub releases/hed-adain --dtype bfloat16 --overwrite
