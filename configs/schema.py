"""The typed experiment config: dataclasses, read from YAML, overridden by `key=value` on the command line.

Field names are the override names (`loss.style_weight=5`, `train.steps=100`); an unknown key anywhere is
an error naming the key and the valid ones, so a typo can never silently train the default.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

VGG_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


@dataclass
class EncoderConfig:
    kind: str = "vgg19"  # "vgg19" | "vit"
    name: str = "vit_base_patch16_224"  # timm model name, used when kind == "vit"
    layer: str = ""  # the AdaIN feature; empty: relu4_1 (vgg19) or "final" (vit); or a VGG name / "block<i>"
    pretrained: bool = True  # False: random weights (tests, smoke runs); they are then saved in checkpoints
    weights_file: str = ""  # explicit local weights file; empty: the library's own download / cache path
    trainable: bool = False


@dataclass
class DecoderConfig:
    kind: str = "mirror_vgg"  # "mirror_vgg" (AdaIN paper: upsample + conv) | "transposed_conv"
    width: int = 64  # channels of the last (full-resolution) stage; each coarser stage doubles it


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)


@dataclass
class LossConfig:
    style_loss: str = "mean_std"  # a name in models.losses.STYLE_LOSSES: "mean_std" | "gram"
    style_layers: list[str] = field(default_factory=lambda: list(VGG_STYLE_LAYERS))
    style_layer_weights: list[float] = field(default_factory=list)  # empty: 1.0 for every layer
    content_layers: list[str] = field(default_factory=lambda: ["relu4_1"])
    content_target: str = "adain"  # "adain": the AdaIN target features (paper); "content": the content image's
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    loss_net_pretrained: bool = True  # the frozen VGG19 loss network
    loss_net_weights_file: str = ""


@dataclass
class DataConfig:
    root: str = "data/sample"  # prepared layout: root/content/{train,val}, root/style/{train,val}
    content_dir: str = ""  # override root/content/train
    style_dir: str = ""  # override root/style/train
    resize: int = 512  # short side before the random crop
    crop: int = 256
    flip: bool = True
    num_workers: int = 2


@dataclass
class OptimConfig:
    name: str = "adam"  # "adam" | "adamw" | "sgd"
    lr: float = 1e-4
    lr_decay: float = 5e-5  # lr(step) = lr / (1 + lr_decay * step), the AdaIN paper's schedule; 0 = constant
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # adam / adamw
    momentum: float = 0.9  # sgd
    grad_clip: float = 0.0  # max global grad norm; 0 = off


@dataclass
class TrainConfig:
    steps: int = 160_000
    epochs: int = 0  # > 0: stop after this many passes over the content set (whichever comes first)
    batch_size: int = 8  # per process
    mixed_precision: str = "no"  # "no" | "fp16" | "bf16" (losses and statistics always run in fp32)
    seed: int = 0
    alpha: float = 1.0
    log_every: int = 50
    eval_every: int = 1000
    save_every: int = 5000
    keep_last: int = 3
    max_nonfinite: int = 20  # stop after this many non-finite losses in a row
    log_root: str = "runs"
    val_pairs: int = 4  # the fixed validation grid is val_pairs contents x val_pairs styles
    debug_nan_at_step: int = -1  # test hook: poison the loss at this step and after (-1 = off)


@dataclass
class Config:
    name: str = "experiment"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


class ConfigError(ValueError):
    pass


def _coerce(value, tp, key: str):
    """Convert a YAML/CLI value to the annotated field type, or raise naming the key."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return from_dict(tp, value, prefix=key + ".")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str):  # CLI: a,b,c
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list, got {value!r}")
        return [_coerce(v, item_tp, key) for v in value]
    if origin in (typing.Union, types.UnionType):
        return value
    try:
        if tp is bool:
            if isinstance(value, str):
                if value.lower() in ("true", "1", "yes"):
                    return True
                if value.lower() in ("false", "0", "no"):
                    return False
                raise ValueError
            return bool(value)
        if tp is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return tp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}' expects {tp.__name__}, got {value!r}") from None


def from_dict(cls, data: dict, prefix: str = ""):
    """Build dataclass `cls` from a nested dict; unknown keys raise ConfigError."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
            f"valid keys here: {', '.join(prefix + n for n in sorted(names))}"
        )
    return cls(**{k: _coerce(v, hints[k], prefix + k) for k, v in data.items()})


def apply_overrides(cfg, overrides: list[str]):
    """Return a copy of `cfg` with `a.b.c=value` overrides applied (values parsed as YAML scalars)."""
    data = dataclasses.asdict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not key=value (e.g. train.steps=100)")
        key, raw = item.split("=", 1)
        node, parts = data, key.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(parts[:i]) or "the top level"
                valid = ", ".join(sorted(node)) if isinstance(node, dict) else "(none)"
                raise ConfigError(f"unknown config key '{key}': no '{part}' in {where}; valid: {valid}")
            if i < len(parts) - 1:
                node = node[part]
        value = yaml.safe_load(raw) if raw != "" else ""
        node[parts[-1]] = value
    return from_dict(type(cfg), data)


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML experiment file into a Config, then apply `key=value` overrides."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping at the top level")
    data.setdefault("name", path.stem)
    try:
        cfg = from_dict(Config, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return apply_overrides(cfg, overrides or [])


def model_config_from_json(text: str) -> ModelConfig:
    return from_dict(ModelConfig, json.loads(text))


def to_json(cfg) -> str:
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def to_yaml(cfg) -> str:
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)


def flatten(cfg) -> dict[str, float | int | str | bool]:
    """Flat `a/b/c` -> scalar dict for TensorBoard hparams (lists become comma-joined strings)."""
    out = {}

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}/")
            elif isinstance(v, (list, tuple)):
                out[prefix + k] = ",".join(map(str, v))
            else:
                out[prefix + k] = v

    walk(dataclasses.asdict(cfg), "")
    return out
