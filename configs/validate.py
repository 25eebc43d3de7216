"""Checking configs: numeric ranges and rules between fields, before anything is built or \
written."""

from __future__ import annotations

import dataclasses
import typing
from functools import reduce
from pathlib import Path

from configs.coerce import HED_SOURCE, from_dict
from configs.schema import (
    Config,
    ConfigError,
    DataConfig,
    EncoderConfig,
    LossConfig,
    ModelConfig,
    VGGArch,
)
from configs.weights_check import weights_problems

VGG_KINDS = typing.get_args(VGGArch)  # the encoder kinds that are VGGs (models/vgg.py)


# ---- validation: ranges and rules between fields, checked before anything is built or written
def _at_least(low: int, note: str = "") -> tuple[typing.Callable, str]:
    return (lambda v: v >= low), f"must be >= {low}{note}"


_RANGES: dict[str, tuple[typing.Callable, str]] = {
    "loss.content_weight": _at_least(0),
    "loss.style_weight": _at_least(0),
    "loss.tv_weight": _at_least(0),
    "loss.ccpl_weight": _at_least(0, " (0: no CCPL)"),
    "loss.ccpl_samples": _at_least(1),
    "loss.ccpl_tau": ((lambda v: v > 0), "must be > 0"),
    "loss.teacher_weight": _at_least(0),
    "loss.teacher_feature_weight": _at_least(0),
    "data.crop": _at_least(1),
    "data.num_workers": _at_least(-1, " (-1: auto, 0: load in the training process)"),
    "optim.lr": ((lambda v: v > 0), "must be > 0"),
    "optim.lr_decay": _at_least(0, " (0: constant learning rate)"),
    "optim.weight_decay": _at_least(0),
    "optim.momentum": ((lambda v: 0 <= v < 1), "must be in [0, 1)"),
    "optim.grad_clip": _at_least(0, " (0: no clipping)"),
    "train.steps": _at_least(1),
    "train.epochs": _at_least(0, " (0: no epoch limit)"),
    "train.batch_size": _at_least(1),
    "train.seed": ((lambda v: 0 <= v < 2**32), "must be in [0, 2**32) (numpy's seed range)"),
    "train.alpha": (
        (lambda v: 0 <= v <= 1),
        "must be in [0, 1] (1: full style, 0: the content's features)",
    ),
    "train.log_every": _at_least(1),
    "train.eval_every": _at_least(1),
    "train.save_every": _at_least(1),
    "train.keep_last": _at_least(0, " (0: keep every checkpoint)"),
    "train.max_nonfinite": _at_least(1),
    "train.val_pairs": _at_least(0, " (0: no validation grid)"),
    "train.debug_nan_at_step": _at_least(-1, " (-1: off)"),
}


def check_model(model: ModelConfig) -> None:
    enc = model.encoder
    if model.decoder.width < 1:
        raise ConfigError(f"model.decoder.width: {model.decoder.width}; must be >= 1")
    _check_foreign_options(model)
    spec = _encoder(enc.kind)
    if enc.layer and not spec.layers(enc.layer):
        raise ConfigError(
            f"model.encoder.layer: {enc.layer!r} is not a {enc.kind} layer; use '' "
            f"({spec.default_layer}) or {spec.layer_help}"
        )


def _encoder(kind: str):
    """The registered encoder's spec (default layer, known layers); the kind was checked when
    read."""
    from models.registry import ENCODERS

    return ENCODERS[kind]


def _vgg_layers(arch: str) -> dict[str, int]:
    """A VGG's layer names (models/vgg.py); read at run time, like the encoder registry."""
    from models.vgg import VGG_LAYERS

    return VGG_LAYERS[arch]


def _check_foreign_options(model: ModelConfig) -> None:
    """The options that describe other code's networks (ViT notebook, pytorch-AdaIN release) fit
    together."""
    enc, dec = model.encoder, model.decoder
    explicit = enc.input_norm == "explicit"
    if explicit and not (len(enc.input_mean) == len(enc.input_std) == 3 and min(enc.input_std) > 0):
        raise ConfigError(
            f"model.encoder.input_mean/input_std: {enc.input_mean} / {enc.input_std}; "
            "input_norm=explicit needs 3 means and 3 stds > 0 (RGB, images in [0, 1]), "
            "e.g. 0.485,0.456,0.406"
        )
    if not explicit and (enc.input_mean or enc.input_std):
        raise ConfigError(
            f"model.encoder.input_mean/input_std: {enc.input_mean} / {enc.input_std} are used only "
            f"with model.encoder.input_norm=explicit (it is {enc.input_norm})"
        )
    if enc.input_norm == "timm" and enc.kind != "vit":
        raise ConfigError(
            f"model.encoder.input_norm: 'timm' with model.encoder.kind={enc.kind}; the timm config "
            "is a ViT's: use auto, imagenet or explicit"
        )
    if enc.kind not in VGG_KINDS and (enc.padding, enc.weights_layout) != ("zeros", "torchvision"):
        raise ConfigError(
            f"model.encoder.padding/weights_layout: {enc.padding}/{enc.weights_layout} with "
            f"model.encoder.kind={enc.kind}; they describe VGG convs and weight files only"
        )
    if enc.weights_file == HED_SOURCE and enc.kind != "vgg16":
        raise ConfigError(
            f"model.encoder.weights_file: hed with model.encoder.kind={enc.kind}; HED's weights "
            "are a VGG16's: use model.encoder.kind=vgg16"
        )
    if enc.weights_layout == "vgg_normalised":
        if enc.padding != "reflect":
            raise ConfigError(
                f"model.encoder.padding: {enc.padding!r} with weights_layout=vgg_normalised; the "
                "release's network pads by reflection, and its folded input conv is exact only "
                "then: use reflect"
            )
        if enc.input_norm != "auto":
            raise ConfigError(
                f"model.encoder.input_norm: {enc.input_norm!r} with weights_layout=vgg_normalised; "
                "its input conv (folded into conv1_1) already normalizes [0, 1] RGB: use auto"
            )
        if enc.pretrained and not enc.weights_file:
            raise ConfigError(
                "model.encoder.pretrained: true with weights_layout=vgg_normalised; no library "
                "download exists: set model.encoder.weights_file=<path to vgg_normalised.pth>"
            )
    if dec.widths and (dec.kind != "transposed_conv" or min(dec.widths) < 1):
        raise ConfigError(
            f"model.decoder.widths: {dec.widths}; a list of stage widths >= 1, for "
            f"kind=transposed_conv only (kind is {dec.kind}); empty derives them from width"
        )
    if not dec.norm_affine and dec.kind != "transposed_conv":
        raise ConfigError(
            f"model.decoder.norm_affine: false with kind={dec.kind}; only transposed_conv has norms"
        )


def _check_loss(loss: LossConfig, enc: EncoderConfig) -> None:
    if not loss.style_layers or len(set(loss.style_layers)) < len(loss.style_layers):
        raise ConfigError(
            f"loss.style_layers: {loss.style_layers}; must name each VGG19 layer once, at least "
            "one (e.g. relu1_1,relu2_1,relu3_1,relu4_1)"
        )
    weights = loss.style_layer_weights
    if weights and (len(weights) != len(loss.style_layers) or min(weights) < 0):
        raise ConfigError(
            f"loss.style_layer_weights: {weights}; must be empty (1.0 each) or one weight >= 0 per "
            f"loss.style_layers entry ({len(loss.style_layers)})"
        )
    ccpl = loss.ccpl_layers
    if loss.ccpl_weight > 0 and (not ccpl or len(set(ccpl)) < len(ccpl)):
        raise ConfigError(
            f"loss.ccpl_layers: {ccpl}; with loss.ccpl_weight > 0 it must name each VGG19 layer "
            "once, at least one (e.g. relu2_1,relu3_1,relu4_1)"
        )
    if loss.content_target == "content" and not loss.content_layers:
        raise ConfigError(
            "loss.content_layers: []; loss.content_target=content needs at "
            "least one layer, e.g. relu4_1"
        )
    if loss.content_target == "adain" and enc.kind not in VGG_KINDS:
        raise ConfigError(
            f"loss.content_target: 'adain' with model.encoder.kind={enc.kind}; adain compares VGG "
            "features with the AdaIN target, so it needs vgg19 or vgg16 (use "
            "loss.content_target=content)"
        )
    if loss.loss_net_weights_file == HED_SOURCE and loss.loss_net != "vgg16":
        raise ConfigError(
            f"loss.loss_net_weights_file: hed with loss.loss_net={loss.loss_net}; HED's weights "
            "are a VGG16's: use loss.loss_net=vgg16"
        )
    if loss.teacher_layers and not loss.teacher:
        raise ConfigError(
            f"loss.teacher_layers: {loss.teacher_layers} without loss.teacher; name the teacher "
            "(e.g. loss.teacher=hed-adain) or leave loss.teacher_layers empty"
        )
    for key in ("style_layers", "content_layers", "ccpl_layers", "teacher_layers"):
        missing = [layer for layer in getattr(loss, key) if layer not in _vgg_layers(loss.loss_net)]
        if missing:
            raise ConfigError(
                f"loss.{key}: {missing} are not layers of loss.loss_net={loss.loss_net}; known: "
                f"{', '.join(n for n in _vgg_layers(loss.loss_net) if n.startswith('relu'))}"
            )
    layer = enc.layer or _encoder(enc.kind).default_layer
    if loss.content_target == "adain" and loss.content_layers != [layer]:
        raise ConfigError(
            f"loss.content_layers: {loss.content_layers}; loss.content_target=adain compares with "
            f"the AdaIN target at the encoder layer, so it must be {layer}"
        )


def _data_problems(data: DataConfig) -> list[str]:
    """The training folders a run on this machine reads (data.content_dir / data.style_dir or
    root/{content,style}/train), when missing; what is in them is checked when they are read."""
    problems = []
    for side in ("content", "style"):
        given = getattr(data, f"{side}_dir")
        folder = Path(given) if given else Path(data.root) / side / "train"
        if not folder.is_dir():
            problems.append(
                f"data.{side + '_dir' if given else 'root'}: {side} training folder {folder} does "
                f"not exist; prepare it (python -m data_prep.prepare ... --out {data.root}, or "
                "python -m data_prep.sample for the small sample set) or set data.root"
            )
    return problems


def validate(cfg: Config, cuda: bool | None = None, for_run: bool = False) -> Config:
    """Check a Config (read from YAML or built in Python) before anything is built; return a typed
    copy.

    Every problem is reported in one pass (one line, problems numbered), so a recipe that is wrong
    for this machine in three ways takes one run to fix, not three.

    Args:
        cuda: whether the run has CUDA. None (inspecting a recipe, benchmarking on another
            machine) skips the one rule that depends on the GPU: fp16 needs one.
        for_run: the config is about to train here (train.py): also what the run will read must
            be there: the training folders, and pretrained weights cached or downloadable.

    Raises:
        ConfigError: `<dotted key>: <value> ...; <what is allowed>` for each bad value.
    """
    # types and choices, also for a Config built in Python (nothing below can run without them)
    return check_typed(from_dict(Config, dataclasses.asdict(cfg)), cuda, for_run)


def check_typed(cfg: Config, cuda: bool | None = None, for_run: bool = False) -> Config:
    """`validate`'s rules for a Config whose types and choices configs.coerce.from_dict already
    checked (configs/read.py's load_config: it is not typed twice); returns it, or raises
    ConfigError (one line, every problem numbered)."""
    problems = []
    for key, (ok, allowed) in _RANGES.items():
        value = reduce(getattr, key.split("."), cfg)
        if not ok(value):
            problems.append(f"{key}: {value!r}; {allowed}")
    if cfg.data.resize < cfg.data.crop:
        problems.append(
            f"data.resize: {cfg.data.resize}; must be >= data.crop ({cfg.data.crop}): the random "
            "crop is cut from the image resized to this short side"
        )
    if len(cfg.optim.betas) != 2 or not all(0 <= b < 1 for b in cfg.optim.betas):
        problems.append(
            f"optim.betas: {cfg.optim.betas}; must be two numbers in [0, 1), e.g. 0.9,0.999"
        )
    try:  # each checker stops at its first rule: one problem each
        check_model(cfg.model)
        # the loss's rules read the model's (its encoder layer): not judged against a wrong one
        _check_loss(cfg.loss, cfg.model.encoder)
    except ConfigError as err:
        problems.append(str(err))
    if cuda is False and cfg.train.mixed_precision == "fp16":
        problems.append(
            "train.mixed_precision: 'fp16' but CUDA is not available; use no or bf16 on this "
            "machine (fp16 is for GPUs such as the T4)"
        )
    if for_run:
        problems += _data_problems(cfg.data) + weights_problems(cfg)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        listed = " ".join(f"({k}) {p}" for k, p in enumerate(problems, 1))
        raise ConfigError(f"{len(problems)} problems: {listed}")
    return cfg
