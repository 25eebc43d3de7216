#!/usr/bin/env bash
# Regenerates the table in docs/evaluation.md ("The field's benchmark") in one command:
#   StyleID's protocol (python -m eval.styleid styleid) on the sample set's val images for the AdaIN
#   release (ADAIN=1: infer.py downloads adain-release once; offline it is left out), our
#   VGG and ViT recipes (smoke-trained here), each with WCT and EFDM, and the optimization.
# Offline every network here has RANDOM weights (encoders, VGG19, AlexNet, art_inception): the numbers
# exercise the protocol end to end and the table says so; they rank nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
runs=runs/protocol
out=runs/protocol/styleid  # the outputs (not committed); the tables are copied to docs/results
tables=docs/results/protocol
"$py" -m data_prep.sample --out data/sample
for recipe in vgg:configs/smoke.yaml vit:configs/smoke_vit.yaml; do
  name=${recipe%%:*}
  [ -f "$runs/$name/model.safetensors" ] ||
    "$py" train.py --config "${recipe#*:}" --run-dir "$runs/$name" name="$name"
done
checkpoints=("$runs/vgg/model.safetensors" "$runs/vit/model.safetensors")
[ "${ADAIN:-0}" = 1 ] && checkpoints=(adain-release "${checkpoints[@]}")  # ADAIN=1: download it
weights=(--weights random --metric-weights random)
[ "${PRETRAINED:-0}" = 1 ] && weights=()  # PRETRAINED=1: the real networks (downloads or caches)
"$py" -m eval.styleid styleid --content data/sample/content/val --style data/sample/style/val \
  --out "$out" --checkpoint "${checkpoints[@]}" --transform wct efdm --method optimize --steps 50 \
  "${weights[@]}" || [ $? = 1 ]
"$py" - "$out/metrics.md" <<'EOF'
import re, sys
table = open(sys.argv[1]).read().split("\n", 2)[2].strip()  # without the "# StyleID protocol" title
table = table.replace("## Notes", "Notes:")
doc = "docs/evaluation.md"  # its table sits between the two markers below
text = open(doc).read()
start, end = "<!-- protocol-table:start -->", "<!-- protocol-table:end -->"
body = f"{start}\n{table}\n{end}"
open(doc, "w").write(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: body, text,
                                    flags=re.S))
EOF
mkdir -p "$tables" && cp "$out"/metrics.{csv,json,md} "$out"/protocol_settings.json "$tables"/
echo "tables written to $tables and docs/evaluation.md"
