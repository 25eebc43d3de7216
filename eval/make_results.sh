#!/usr/bin/env bash
# Regenerates the README's "Results" section inputs in docs/results/ with this repo's own tools:
#   the four loss variants (VGG / ViT encoder x mean-std / Gram style loss) smoke-trained on the sample
#   set, evaluated against the optimization reference, their training curves compared, and the benchmark.
# Offline every network here has RANDOM weights: the numbers exercise the tools, they rank nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
out=docs/results
runs=runs/results
mkdir -p "$out"

"$py" -m data_prep.sample --out data/sample
rm -rf "$runs"
train() {  # name, config, extra overrides...
  local name=$1 config=$2; shift 2
  "$py" train.py --config "$config" --run-dir "$runs/$name" name="$name" "$@"
}
train vgg_meanstd configs/smoke.yaml loss.style_loss=mean_std
train vgg_gram configs/smoke.yaml loss.style_loss=gram
train vit_meanstd configs/smoke_vit.yaml loss.style_loss=mean_std train.steps=30  # same length as the VGG runs
train vit_gram configs/smoke_vit.yaml loss.style_loss=gram train.steps=30

"$py" -m eval.evaluate --checkpoint "$runs"/{vgg_meanstd,vgg_gram,vit_meanstd,vit_gram}/model.safetensors \
    --optimize-baseline --weights random --offline --out "$out/eval"
"$py" -m eval.compare_runs "$runs" --out "$out/curves" --tags loss/total,loss/content,loss/style
"$py" -m bench --out "$out/benchmark.json"
"$py" -m bench figures vgg vit optimize_step multiscale gatys_defaults tiled_4096 --out "$out/inference"
echo "results written to $out"
