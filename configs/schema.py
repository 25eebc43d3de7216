"""The typed experiment config: dataclasses, read from YAML, overridden by `key=value` on the \
command line.

Field names are the override names (`loss.style_weight=5`, `train.steps=100`). Reading
(configs/read.py: `load_config`, strict types, unknown keys refused) and checking
(configs/validate.py: choices against the Literal types below, numbers against their ranges, fields
against each other) happen before anything is built or written; a bad value is one line naming the
dotted key, the value and what is allowed. The `model:` section's dataclasses are the model's own
(models/config.py).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Annotated, Literal

import yaml

# the model's own part lives beside the model; these names stay importable from here (the README's
# Python example imports them)
from models.config import DecoderConfig, EncoderConfig, ModelConfig, Registered  # noqa: F401

StyleLossName = Annotated[str, Registered("style loss")]
# Fixed choices of this repo's own code (models/vgg.py, training/optimizer.py OPTIMIZERS; the
# model's own: models/config.py); tests/test_config.py checks that these lists and those tables
# agree.
VGGArch = Literal["vgg19", "vgg16"]  # models/vgg.py BLOCK_CONVS
ContentTarget = Literal["adain", "content"]
OptimizerName = Literal["adam", "adamw", "sgd"]
MemoryFormat = Literal[
    "auto", "channels_last", "contiguous"
]  # auto: runtime/device.py memory_format
MixedPrecision = Literal[
    "no", "fp16", "bf16"
]  # fp16 for T4 (emulated bf16 is slow there), bf16 on Ampere+/CPU
# torchvision VGG19 `features`: conv + relu per conv, a pool after each block of 2, 2, 4, 4, 4 convs
# (VGG16's 2, 2, 3, 3, 3 have a subset of these names: configs/validate.py checks them against
# loss.loss_net)
VGG19Layer = Literal[
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4", "pool5",
]  # fmt: skip
VGG_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]


@dataclass
class LossConfig:
    style_loss: StyleLossName = "mean_std"
    style_layers: list[VGG19Layer] = field(default_factory=lambda: list(VGG_STYLE_LAYERS))
    style_layer_weights: list[float] = field(default_factory=list)  # empty: 1.0 for every layer
    content_layers: list[VGG19Layer] = field(default_factory=lambda: ["relu4_1"])
    # adain: the AdaIN target features (paper); content: the content's
    content_target: ContentTarget = "adain"
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.0
    # the frozen loss network: vgg19 (torchvision's ImageNet weights when pretrained) or vgg16
    # (loss_net_weights_file=hed: HED's VGG16, installable offline)
    loss_net: VGGArch = "vgg19"
    loss_net_pretrained: bool = True
    loss_net_weights_file: str = ""
    # CCPL, temporal coherence without flow (training/ccpl.py); 0: off, the paper's code used 5
    ccpl_weight: float = 0.0
    ccpl_layers: list[VGG19Layer] = field(default_factory=lambda: ["relu2_1", "relu3_1", "relu4_1"])
    ccpl_samples: int = 8  # centre positions per layer and step (8 differences each)
    ccpl_tau: float = 0.07  # InfoNCE temperature
    # distillation (training/distill.py): a frozen teacher's image of the same batch as a further
    # target; a checkpoint spec as model.init_from takes (hed-adain, a release file, a run or step
    # folder), read at every start and resume and never saved in checkpoints. Empty: off
    teacher: str = ""
    teacher_weight: float = 1.0  # x the pixel MSE to the teacher's image (both in [0, 1])
    # loss-network layers where the output's features also match the teacher image's (MSE, summed
    # like the content term); empty: pixels only
    teacher_layers: list[VGG19Layer] = field(default_factory=list)
    teacher_feature_weight: float = 1.0


@dataclass
class DataConfig:
    root: str = "data/sample"  # prepared layout: root/content/{train,val}, root/style/{train,val}
    content_dir: str = ""  # override root/content/train
    style_dir: str = ""  # override root/style/train
    resize: int = 512  # short side before the random crop
    crop: int = 256
    flip: bool = True
    # per stream; -1 auto: 0 on CPU, up to 4 on CUDA (training/data.py loader_workers)
    num_workers: int = -1


@dataclass
class OptimConfig:
    name: OptimizerName = "adam"
    lr: float = 1e-4
    # lr(step) = lr / (1 + lr_decay * step), the AdaIN paper's schedule; 0 = constant
    lr_decay: float = 5e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # adam / adamw
    momentum: float = 0.9  # sgd
    grad_clip: float = 0.0  # max global grad norm; 0 = off


@dataclass
class TrainConfig:
    steps: int = 160_000
    epochs: int = 0  # > 0: stop after this many passes over the content set (whichever comes first)
    batch_size: int = 8  # per process
    mixed_precision: MixedPrecision = "no"  # losses and statistics always run in fp32
    # of weights and activations, forward and backward (runtime/device.py)
    memory_format: MemoryFormat = "auto"
    seed: int = 0
    # AdaIN blend of the validation grid and training: 1 full style, 0 the content's features
    alpha: float = 1.0
    log_every: int = 50
    eval_every: int = 1000
    save_every: int = 5000
    keep_last: int = 3  # step checkpoints kept; 0 keeps all
    max_nonfinite: int = 20  # stop after this many non-finite losses in a row
    log_root: str = "runs"
    val_pairs: int = 4  # the fixed validation grid is val_pairs contents x val_pairs styles
    debug_nan_at_step: int = -1  # test hook: poison the loss at this step and after (-1 = off)


@dataclass
class Config:
    name: str = "experiment"
    # your own transforms, losses, encoders or decoders: .py files or module names, imported before
    # the config's names are checked (configs/plugins.py load_plugins); a resume imports them again
    # from here
    plugins: list[str] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


class ConfigError(ValueError):
    """A config that cannot run; the message is one line:
    `<dotted key>: <value> ...; <what is allowed>`."""


def to_json(cfg) -> str:
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def to_yaml(cfg) -> str:
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)


def dotted(node: dict, prefix: str = "") -> dict[str, object]:
    """{"loss": {"style_loss": "gram"}} -> {"loss.style_loss": "gram"}: a config (a dict) keyed as
    the command line names its fields; lists become tuples (comparable and hashable)."""
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(dotted(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = tuple(value) if isinstance(value, list) else value
    return out


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
