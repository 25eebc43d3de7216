"""Everything chosen by name, registered beside its definition (timm's `@register_model` in \
miniature).

    @register_transform("mine")           # models/transforms.py, or a plugin file of yours
    def mine(content, style): ...

Five registries: transforms, style losses, encoders, decoders and the optimization's feature
networks. The config reader, every CLI's choices and help, the demo and eval.variants read them at
run time, so a name is written once: where it is registered. The built-in entries register when
their modules are imported (`load_builtins`, on the first lookup); configs/plugins.py imports a
researcher's own files or modules, which register more. This module imports no network code, so a
loss or a transform stays cheap to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from torch import nn

from models.config import parse_weights

_BUILTINS = ("transforms", "losses", "vgg", "vit", "resnet", "decoders", "student")
# the plugin being imported (configs/plugins.py): what registers meanwhile is recorded as its own
LOADING: list[str] = []


class RegistryError(ValueError):
    """An unknown name, a clashing registration or a broken plugin; the message is one line."""


class Registry(Mapping):
    """name -> entry for one kind; looking a name up loads the built-in entries first.

    `what` names the config key or flag in errors (`unknown feature transform 'x' (model.transform /
    --transform); choose one of adain, ...`).
    """

    def __init__(self, kind: str, what: str):
        self.kind, self.what = kind, what
        self._entries: dict[str, object] = {}
        self.sources: dict[str, str | None] = {}  # name -> the plugin that registered it, or None

    def add(self, name: str, entry: object, module: str = "") -> None:
        if not module.startswith("models."):  # the built-ins first: a clash with one fails here
            load_builtins()
        if not isinstance(name, str) or not name or any(c in name for c in " ,=/\\"):
            raise RegistryError(f"{self.kind} name {name!r}: use letters, digits, '_', '-' or '.'")
        source = LOADING[-1] if LOADING else None if module.startswith("models.") else module
        if name in self._entries:
            owner = self.sources[name] or "the built-in"
            raise RegistryError(
                f"{self.kind} '{name}' is registered twice ({owner}, and {source or 'again'});"
                " rename one of them"
            )
        self._entries[name], self.sources[name] = entry, source or None

    def __getitem__(self, name: str):
        if name not in self:
            raise RegistryError(
                f"unknown {self.what} '{name}'; choose one of {', '.join(self)}"
                " (or load the plugin that registers it with --plugins)"
            )
        return self._entries[name]

    def __contains__(self, name: object) -> bool:  # Mapping's would catch KeyError, not ours
        load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        load_builtins()
        return iter(self._entries)

    def __len__(self) -> int:
        load_builtins()
        return len(self._entries)

    def remove(self, name: str) -> None:
        """Forget an entry (a failed plugin's, or a test's throw-away name)."""
        self._entries.pop(name, None)
        self.sources.pop(name, None)


TRANSFORMS = Registry("transform", "feature transform (model.transform / --transform)")
STYLE_LOSSES = Registry("style loss", "style loss (loss.style_loss / --style-loss)")
ENCODERS = Registry("encoder", "encoder (model.encoder.kind)")
DECODERS = Registry("decoder", "decoder (model.decoder.kind)")
FEATURE_NETS = Registry("feature net", "feature network (--feature-net)")
REGISTRIES = {r.kind: r for r in (TRANSFORMS, STYLE_LOSSES, ENCODERS, DECODERS, FEATURE_NETS)}
_builtins_loaded = False


def load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in _BUILTINS:
            importlib.import_module(f"models.{module}")


# ---- the decorators: on a function or class (returned unchanged), or given the entry directly
def _decorator(kind: str, name: str, convert: Callable = lambda obj: obj, entry=None):
    def register(obj):
        REGISTRIES[kind].add(name, convert(obj), getattr(obj, "__module__", "") or "")
        return obj

    return register if entry is None else register(entry)


def register_transform(name: str, entry=None):
    """Register a feature transform: a plain `f(content, style) -> features` on (B, C, H, W) maps,
    or an object with `stats` and `apply` (and optionally `mix`, `pool`, `accumulator`):
    models/transfer.py."""
    from models.transfer import as_transform

    return _decorator("transform", name, lambda obj: as_transform(obj, name), entry)


def register_style_loss(name: str, entry=None):
    """Register a style loss: a plain per-layer `f(output, target) -> scalar` on (B, C, H, W)
    features, or a models.losses.StyleLoss(statistic, distance) whose statistic is precomputed once
    per style."""
    from models.style_loss import as_style_loss

    return _decorator("style loss", name, as_style_loss, entry)


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder builder `(cfg: EncoderConfig, layer: str) -> nn.Module` and its layers.

    The module maps (B, 3, H, W) images in [0, 1] to {layer: (B, C, H/s, W/s)} features, normalizes
    its own input, and has `.strides` and `.channels`: {layer: int} for every layer it can return.
    `layers(name)` says whether the encoder knows a layer (checked when a config is read);
    `layer_help` lists them for the error message.
    """

    build: Callable[..., nn.Module]
    default_layer: str
    layers: Callable[[str], bool]
    layer_help: str


def register_encoder(
    name: str,
    default_layer: str,
    layers: Sequence[str] | Callable[[str], bool],
    layer_help: str = "",
):
    """Register an encoder builder (EncoderSpec); `layers`: its layer names, or a predicate."""
    known = layers if callable(layers) else frozenset(layers).__contains__
    help_text = layer_help or ", ".join(layers)
    return _decorator("encoder", name, lambda b: EncoderSpec(b, default_layer, known, help_text))


def register_decoder(name: str):
    """Register a decoder builder `(in_channels, stride, cfg: DecoderConfig) -> nn.Module` mapping
    (B, C, h, w) features to (B, 3, h * stride, w * stride) images in [0, 1]."""
    return _decorator("decoder", name)


@dataclass(frozen=True)
class FeatureNetSpec:
    """A frozen feature network of the per-image optimization (models/gatys.py): its builder
    `(layers, pretrained=, weights_file=) -> nn.Module` returning {layer: features}, its default
    content and style layers, and every layer it knows."""

    build: Callable[..., nn.Module]
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    known_layers: tuple[str, ...]


def register_feature_net(
    name: str,
    content_layers: Sequence[str],
    style_layers: Sequence[str],
    known_layers: Sequence[str],
):
    """Register a feature network builder (FeatureNetSpec) for the per-image optimization."""
    layers = tuple(content_layers), tuple(style_layers), tuple(known_layers)
    return _decorator("feature net", name, lambda build: FeatureNetSpec(build, *layers))


# ---- building from configs
def encoder_layer(cfg) -> str:
    """The feature layer the transform runs on: cfg.layer, or the encoder kind's default."""
    return cfg.layer or ENCODERS[cfg.kind].default_layer


def build_encoder(cfg) -> nn.Module:
    return ENCODERS[cfg.kind].build(cfg, encoder_layer(cfg))


def build_decoder(cfg, in_channels: int, stride: int) -> nn.Module:
    return DECODERS[cfg.kind](in_channels, stride, cfg)


def build_feature_net(name: str, layers: Sequence[str], weights: str = "pretrained") -> nn.Module:
    """A frozen, eval-mode feature network returning {layer: features} for [0, 1] RGB images.

    `layers`: every layer the optimization reads; VGG is truncated after the deepest. `weights`:
    pretrained | random (offline smoke runs only: the results are not meaningful) | a local file.
    """
    spec, source = FEATURE_NETS[name], parse_weights(weights)
    unknown = [layer for layer in layers if layer not in spec.known_layers]
    if unknown:
        raise RegistryError(
            f"unknown {name} layer(s) {', '.join(unknown)}; known: {', '.join(spec.known_layers)}"
        )
    return spec.build(tuple(layers), pretrained=source.pretrained, weights_file=source.file).eval()
