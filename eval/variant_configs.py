"""Which research variants exist, and the config each one trains with.

A variant is the AdaIN recipe (configs/vgg_adain_meanstd.yaml) with one change: every other
registered feature transform (vgg_<transform>_meanstd) and style loss (vgg_adain_<loss>), read from
the registries at call time, so a loaded plugin's names are variants too. configs/<variant>.yaml is
used where it exists (e.g. the Gram variant's own style weight), else the recipe with that one field
changed. Without `full`, a variant keeps its model and loss sections and takes configs/smoke.yaml's
data, optim and train sections for SMOKE_STEPS steps.

Separate from eval/variants.py (which trains, compares and evaluates them) so that what is compared
can be read, and tested, without running anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from configs.read import apply_overrides, load_config
from configs.schema import Config
from configs.validate import validate
from models.registry import STYLE_LOSSES, TRANSFORMS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
RECIPE = "vgg_adain_meanstd"
SMOKE = CONFIGS / "smoke.yaml"
# smoke: 10 steps of every variant (smoke.yaml's 30 take ~3x as long on 2 CPU cores)
SMOKE_STEPS = 10


def variants() -> dict[str, tuple[str, list[str]]]:
    """variant -> (what it changes, its overrides of the recipe): the recipe, then one variant per
    other registered transform and style loss (read now, so a loaded plugin's names are variants
    too)."""
    recipe = load_config(CONFIGS / f"{RECIPE}.yaml")
    out = {RECIPE: ("the AdaIN recipe (reference)", [])}
    out |= {
        f"vgg_{t}_meanstd": (f"transform {t}", [f"model.transform={t}"])
        for t in TRANSFORMS
        if t != recipe.model.transform
    }
    out |= {
        f"vgg_adain_{s}": (f"style loss {s}", [f"loss.style_loss={s}"])
        for s in STYLE_LOSSES
        if s != recipe.loss.style_loss
    }
    return out


def variant_config(
    name: str,
    full: bool,
    weights: str,
    data_root: str | None,
    steps: int | None,
    overrides: Sequence[str] = (),
    plugins: Sequence[str] = (),
) -> Config:
    """The config a variant trains with: configs/<name>.yaml or the recipe with the variant's
    change, smoke.yaml's data/optim/train unless `full`, then the flags."""
    own = CONFIGS / f"{name}.yaml"
    change = [] if own.is_file() else variants()[name][1]
    cfg = load_config(
        own if own.is_file() else CONFIGS / f"{RECIPE}.yaml",
        [f"name={name}", *change, *([f"plugins={','.join(plugins)}"] if plugins else [])],
    )
    # only the model and loss sections define a variant; the smoke run's schedule replaces the rest
    if not full:
        smoke = load_config(SMOKE)
        cfg = dataclasses.replace(cfg, data=smoke.data, optim=smoke.optim, train=smoke.train)
    flags = [f"data.root={data_root}"] if data_root else []
    steps = steps if steps is not None or full else SMOKE_STEPS
    flags += [f"train.steps={steps}"] if steps is not None else []
    if weights == "random":
        flags += ["model.encoder.pretrained=false", "loss.loss_net_pretrained=false"]
    return validate(apply_overrides(cfg, [*flags, *overrides]))
