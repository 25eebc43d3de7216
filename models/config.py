"""The model's config: its dataclasses (the `model:` section of an experiment) and the weights spec
of its pretrained networks. The model reads nothing else of the repo's configs; the experiment
schema above it (configs/schema.py) holds a ModelConfig, and the reader (configs/read.py,
configs/coerce.py) fills these from YAML and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal


@dataclass(frozen=True)
class Registered:
    """A name checked against a models.registry registry when the config is read
    (configs/coerce.py), so the allowed names are the registered ones, plugins included, and are
    never listed here."""

    kind: str


EncoderKind = Annotated[str, Registered("encoder")]
DecoderKind = Annotated[str, Registered("decoder")]
TransformName = Annotated[str, Registered("transform")]
# Fixed choices of the model's code (models/layers.py, models/vgg.py); tests/test_config.py checks
# that these lists and those tables agree.
InputNorm = Literal["auto", "timm", "imagenet", "explicit"]  # models/layers.py INPUT_NORMS
VGGPadding = Literal["zeros", "reflect"]  # models/vgg.py VGG_PADDINGS
VGGWeightsLayout = Literal["torchvision", "vgg_normalised", "caffe"]  # models/vgg.py VGG_LAYOUTS
OutputActivation = Literal["sigmoid", "tanh", "linear"]  # models/layers.py OUTPUT_ACTIVATIONS


@dataclass
class EncoderConfig:
    # registered names (models/registry.py): vgg19, vgg16, vit, student (models/student.py: the
    # small distilled encoder, trainable: true) or a plugin's
    kind: EncoderKind = "vgg19"
    name: str = "vit_base_patch16_224"  # timm model name, used when kind == "vit"
    # the transform's feature layer; empty: the encoder's default (vgg19 relu4_1, vit final)
    layer: str = ""
    # False: random weights (tests, smoke runs); they are then saved in checkpoints
    pretrained: bool = True
    # explicit local weights file; empty: the library's own download / cache path
    weights_file: str = ""
    trainable: bool = False
    # how the encoder normalizes its [0, 1] input. auto: the network's own (torchvision VGG:
    # ImageNet; a ViT: its timm pretrained config, e.g. 0.5/0.5 for augreg; vgg_normalised: none,
    # its input conv does it); timm: the ViT's config, said explicitly; imagenet: the ViT notebook's
    # choice; explicit: input_mean/std
    input_norm: InputNorm = "auto"
    input_mean: list[float] = field(default_factory=list)  # 3 values, with input_norm=explicit
    input_std: list[float] = field(default_factory=list)
    # vgg convs: zeros as torchvision, reflect as pytorch-AdaIN's release
    padding: VGGPadding = "zeros"
    # vgg weights_file layout. vgg_normalised: pytorch-AdaIN's vgg_normalised.pth (a 1x1 input
    # conv, folded into conv1_1 when read; ceil-mode pools); the network is that release's, whatever
    # holds its weights. caffe: a Caffe VGG (0-255 input minus Caffe's mean, ceil-mode pools);
    # weights_file=hed (HED's VGG16, models/hed.py) always reads as caffe
    weights_layout: VGGWeightsLayout = "torchvision"


@dataclass
class DecoderConfig:
    # mirror_vgg: the AdaIN paper's upsample + conv; transposed_conv: the ViT notebook's; student:
    # upsample + depthwise-separable convs (models/student.py)
    kind: DecoderKind = "mirror_vgg"
    width: int = 64  # channels of the last (full-resolution) stage; each coarser stage doubles it
    # transposed_conv stage widths, coarse to fine; empty: from width
    widths: list[int] = field(default_factory=list)
    # transposed_conv InstanceNorm weight/bias (the notebook's nn.InstanceNorm2d had none)
    norm_affine: bool = True
    # sigmoid: the repo's; tanh: the ViT notebook's (tanh * ImageNet std + mean, clamped); linear:
    # pytorch-AdaIN's (no activation; clamped to [0, 1] with a straight-through gradient)
    output: OutputActivation = "sigmoid"


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    # training starts from these weights: a release file, step folder or foreign state dict
    init_from: str = ""
    # how content features take the style's statistics (models/transforms.py)
    transform: TransformName = "adain"


# the weights-file value naming HED's VGG16 (models/hed.py): installable offline, so it is a source
# like `pretrained`, not a path
HED_SOURCE = "hed"


@dataclass(frozen=True)
class WeightsSpec:
    """Where a network's weights come from: the library's pretrained ones, a local file, or
    random."""

    pretrained: bool
    file: str = ""

    @property
    def random(self) -> bool:
        return not (self.pretrained or self.file)


def parse_weights(spec: str) -> WeightsSpec:
    """The one parser of the `pretrained | random | hed | PATH` strings of every CLI flag and option
    (`hed` travels as the file name the VGG loaders resolve: models/hed.py)."""
    if spec == "pretrained":
        return WeightsSpec(pretrained=True)
    if spec == "random":
        return WeightsSpec(pretrained=False)
    if not spec:
        raise ValueError("empty weights spec: use pretrained, random or a path to a weights file")
    return WeightsSpec(pretrained=False, file=str(Path(spec)))
