"""The typed options of an inference run: what `infer.py` turns its flags into, and what the \
runtime reads.

Tests, `eval` and the web demo build an `InferOptions` directly; the flags are in
inference/flags.py. The dataclass holds the defaults (infer.py's flags take theirs from here) and
`validate` checks everything that can be checked before a file is read or a model is loaded, with
one-line errors naming the flag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from models.adain import MAX_ALPHA
from models.config import WeightsSpec, parse_weights
from models.registry import FEATURE_NETS, STYLE_LOSSES, TRANSFORMS

Method = Literal["decoder", "optimize"]
# fp16 is refused rather than loss-scaled: the losses are normalized by C*H*W, so the shallow
# layers' gradients at 512 px (~1e-6..1e-8) underflow fp16 (smallest subnormal 6e-8) in the backward
# pass through the feature network; a scale large enough for them (and a GradScaler's skipped steps)
# would also have to hold under L-BFGS's history, which a skipped step corrupts. bf16 has fp32's
# exponent range.
OPTIMIZE_FP16 = (
    "--precision fp16 with the per-image optimization: its normalized losses' gradients underflow "
    "in fp16; use --precision bf16 (GPUs of compute capability >= 8.0, AVX-512 BF16 CPUs) or fp32"
)


class InferError(RuntimeError):
    """An error that stops the whole run (bad options, missing paths, an --out over the inputs)."""


@dataclass(frozen=True)
class InferOptions:
    """Every knob of `infer.py`; the field names are the flag names with '_' for '-' (see
    `infer.py --help`)."""

    content: tuple[str, ...] = ()  # content files, folders or globs
    style: tuple[
        str, ...
    ] = ()  # style files, folders, globs, or statistics files (.safetensors, --save-style)
    out: str = "outputs"
    method: Method | None = None  # None: "decoder" when a checkpoint is given
    checkpoint: str | None = None  # release .safetensors, step folder, or .pth/.pt with `config`
    config: str | None = None  # experiment YAML giving the model config of a plain state dict
    # pretrained | random | PATH: the optimization's net / an encoder not in the file
    weights: str = "pretrained"
    alpha: tuple[float, ...] = (
        1.0,
    )  # 0..1 content to style; up to models.adain.MAX_ALPHA extrapolates
    transform: str | None = None  # a registered transform; None: the checkpoint's own
    style_weights: tuple[float, ...] | None = None  # mix all styles with these weights
    # a folder of style images pooled into one style (the transform's pool)
    style_domain: str | None = None
    save_style: str | None = None  # write the pooled --style-domain statistics here (.safetensors)
    # label image: each distinct color (sorted) is a region taking the next style
    mask: str | None = None
    preserve_color: Literal["none", "luminance", "covariance"] = "none"
    size: int | None = None  # short side of the content (aspect kept)
    max_size: int | None = None  # cap on the long side
    style_size: int | None = None  # short side of the styles (default: size)
    upscale: bool = False  # allow enlarging images smaller than `size`
    format: Literal["png", "jpg"] = "png"
    grid: bool = False
    device: str = "auto"  # auto (cuda when available) or a torch device string: cpu, cuda, cuda:1
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    batch_size: int = 1
    seed: int = 0
    # keep outputs that exist (without it and --overwrite an existing one is an error)
    skip_existing: bool = False
    overwrite: bool = False  # replace outputs that exist
    tile_size: int = 1024  # tile images whose long side exceeds this (0: never)
    tile_overlap: int = 128
    channels_last: bool = True
    # onnxruntime: --checkpoint is an ONNX export folder
    backend: Literal["pytorch", "onnxruntime"] = "pytorch"
    # the per-image optimization (method "optimize")
    optimizer: Literal["adam", "lbfgs"] = "adam"
    steps: tuple[int, ...] = (200,)  # one value, or one per scale
    lr: float = 0.0  # 0: the optimizer's default (models.gatys.DEFAULT_LR)
    init: Literal["content", "noise", "content+noise"] = "content"
    content_weight: float = 1.0
    style_weight: float | None = None  # None: models.gatys.DEFAULT_STYLE_WEIGHT
    tv_weight: float | None = None  # None: models.gatys.DEFAULT_TV_WEIGHT
    style_loss: str = "gram"  # a registered style loss
    feature_net: str = "vgg19"  # a registered feature network
    scales: tuple[int, ...] = field(default_factory=tuple)  # coarse-to-fine short sides
    save_every: int = 0  # write intermediate images + a loss log every N steps
    plugins: tuple[
        str, ...
    ] = ()  # your own transforms/losses/networks, loaded once per run (inference/api.py options)
    # video contents (inference/video.py)
    temporal: Literal["off", "stats", "flow"] = "flow"  # flicker remedy (inference/temporal.py)
    # --method optimize: Ruder et al.'s short-term temporal loss weight
    temporal_weight: float = 1e3
    frames: bool = False  # also write each stylized frame as PNG
    crf: int = 20  # H.264 quality: 0 lossless .. 51 worst (media/video.py)
    bit_rate: int | None = None  # bits/s instead of --crf (MPEG-4 fallback: default from the size)

    @property
    def resolved_method(self) -> Method:
        return self.method or "decoder"

    @cached_property
    def weights_spec(self) -> WeightsSpec:
        """`weights` parsed, once per options (models.config.parse_weights; raises ValueError)."""
        return parse_weights(self.weights)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> InferOptions:
        """Options from a mapping of names (dashes or underscores); lists become tuples; unknown
        names raise."""
        names = {f.name for f in dataclasses.fields(cls)}
        given = {k.replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(set(given) - names)
        if unknown:
            raise InferError(
                f"unknown inference option(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(names))}"
            )
        for key in ("content", "style", "alpha", "style_weights", "steps", "scales", "plugins"):
            if isinstance(given.get(key), (str, int, float)):
                given[key] = (given[key],)
            elif given.get(key) is not None and key in given:
                given[key] = tuple(given[key])
        return cls(**given)

    def validate(self) -> InferOptions:
        """Check the options against each other; returns self, raises InferError with one line.

        The plugins are loaded (inference/api.py options, app.py, eval's commands), so the names
        they register are known here."""
        for flag, table, name in (
            ("--transform", TRANSFORMS, self.transform),
            ("--style-loss", STYLE_LOSSES, self.style_loss),
            ("--feature-net", FEATURE_NETS, self.feature_net),
        ):
            if name is not None and name not in table:
                raise InferError(
                    f"{flag} {name}: not registered; choose one of {', '.join(table)} (or load "
                    "the plugin that registers it with --plugins)"
                )
        if self.method is None and not self.checkpoint:
            raise InferError(
                "give --checkpoint FILE (trained decoder) or --method "
                "optimize (per-image optimization)"
            )
        if self.resolved_method == "decoder" and not self.checkpoint:
            raise InferError("--method decoder needs --checkpoint FILE")
        if self.resolved_method == "optimize" and (tuple(self.alpha) != (1.0,) or self.mask):
            raise InferError("--alpha and --mask apply to the trained decoder (--checkpoint) only")
        if self.mask and self.style_weights:
            raise InferError(
                "--mask assigns one style per region; it cannot be combined with --style-weights"
            )
        if not self.content:
            raise InferError("give --content FILE|FOLDER|GLOB")
        if bool(self.style) == bool(self.style_domain):
            raise InferError(
                "give --style FILE|FOLDER|GLOB|STATS.safetensors or "
                "--style-domain FOLDER (one of them)"
            )
        if self.save_style and not (self.style_domain and self.save_style.endswith(".safetensors")):
            raise InferError(
                "--save-style X.safetensors stores the statistics pooled "
                "by --style-domain; give both"
            )
        domain = self.style_domain or any(s.lower().endswith(".safetensors") for s in self.style)
        if domain and (
            self.resolved_method == "optimize" or self.preserve_color == "covariance" or self.mask
        ):
            raise InferError(
                "style statistics (--style-domain, --style X.safetensors) work with the trained "
                "decoder, without --mask or --preserve-color covariance (they recolor style images)"
            )
        if self.overwrite and self.skip_existing:
            raise InferError(
                "--overwrite and --skip-existing contradict each other; pass one of them"
            )
        if self.batch_size < 1 or self.tile_overlap < 0 or self.tile_size < 0:
            raise InferError("--batch-size must be >= 1 and --tile-size/--tile-overlap >= 0")
        if any(not 0.0 <= a <= MAX_ALPHA for a in self.alpha):
            raise InferError(
                f"--alpha values must lie in [0, {MAX_ALPHA:g}] (above 1 extrapolates past the "
                f"style), got {list(self.alpha)}"
            )
        if self.resolved_method == "optimize" and self.precision == "fp16":
            raise InferError(OPTIMIZE_FP16)
        if self.backend == "onnxruntime" and (
            self.resolved_method != "decoder"
            or self.device.startswith("cuda")
            or self.precision != "fp32"
        ):
            raise InferError(
                "--backend onnxruntime runs an exported decoder (--checkpoint DIR from python "
                "export.py --out DIR) in fp32 on the CPU; drop --method optimize, "
                "--device cuda, --precision"
            )
        if self.resolved_method == "optimize" and self.transform:
            raise InferError("--transform applies to the trained decoder (--checkpoint) only")
        for flag, value in (
            ("--size", self.size),
            ("--max-size", self.max_size),
            ("--style-size", self.style_size),
        ):
            if value is not None and value < 1:
                raise InferError(f"{flag} must be >= 1, got {value}")
        if any(s < 1 for s in self.steps) or any(s < 1 for s in self.scales) or self.save_every < 0:
            raise InferError("--steps and --scales values must be >= 1 and --save-every >= 0")
        if len(self.steps) > 1 and len(self.steps) != max(1, len(self.scales)):
            raise InferError(
                f"--steps has {len(self.steps)} values for {len(self.scales)} --scales; "
                "give one value or one per scale"
            )
        if not 0 <= self.crf <= 51 or (self.bit_rate is not None and self.bit_rate < 1000):
            raise InferError(
                f"--crf must lie in [0, 51] and --bit-rate be >= 1000 bits/s, got {self.crf}, "
                f"{self.bit_rate}"
            )
        if self.temporal_weight < 0:
            raise InferError("--temporal-weight must be >= 0")
        if (
            self.lr < 0
            or self.content_weight < 0
            or (self.style_weight or 0) < 0
            or (self.tv_weight or 0) < 0
        ):
            raise InferError("--lr, --content-weight, --style-weight and --tv-weight must be >= 0")
        return self
