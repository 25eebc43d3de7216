#!/usr/bin/env bash
# Train (or continue) the hed-student release and export it into this folder.
#   bash releases/hed-student/train.sh [train.steps=N ...]
# 1. builds the offline set (python -m data_prep.offline: deterministic, no network)
# 2. trains configs/hed_student.yaml (models/student.py's small encoder + decoder on HED's VGG16
#    losses, distilled from the hed-adain release: training/distill.py) into $RUN_DIR (default
#    runs/hed_student); extra arguments are its config overrides (train.steps=N continues a finished
#    run further). The run resumes exactly when its folder already holds checkpoints, so the
#    training can be spread over as many sessions as it takes.
# 3. exports it as a float32 release (under 2 MB) with its model card (command, steps, wall time,
#    CPU, final losses) into releases/hed-student, which `--checkpoint hed-student` reads
# The teacher must exist first: releases/hed-adain/model.safetensors (releases/hed-adain/train.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python
run=${RUN_DIR:-runs/hed_student}  # relative to the repo: the model card records the command as typed
cd "$repo"

resume() { [ -d "$1/checkpoints" ] && echo --resume latest || true; }
"$py" -m data_prep.offline --out data/offline
# shellcheck disable=SC2046  # resume's output is zero or two words
"$py" train.py --config configs/hed_student.yaml --run-dir "$run" $(resume "$run") "$@"
"$py" export.py --checkpoint "$run" --hub releases/hed-student --dtype float32 --overwrite
