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
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

_BUILTINS = (
    "models.transforms",
    "models.losses",
    "models.vgg",
    "models.vit",
    "models.resnet",
    "models.decoders",
)
_loading: list[str] = []  # the plugin being imported (its registrations are recorded under it)
_plugins: dict[str, list[tuple[str, str]]] = {}  # plugin spec -> [(kind, name)] it registered
_builtins_loaded = False


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
        self._sources: dict[str, str | None] = {}

    def add(self, name: str, entry: object, module: str = "") -> None:
        if not isinstance(name, str) or not name or any(c in name for c in " ,=/\\"):
            raise RegistryError(f"{self.kind} name {name!r}: use letters, digits, '_', '-' or '.'")
        source = (
            _loading[-1] if _loading else (None if module.startswith("models.") else module or None)
        )
        if name in self._entries:
            owner = self._sources[name] or "the built-in"
            raise RegistryError(
                f"{self.kind} '{name}' is registered twice ({owner}, and {source or 'again'});"
                " rename one of them"
            )
        self._entries[name], self._sources[name] = entry, source
        if _loading:
            _plugins[_loading[-1]].append((self.kind, name))

    def __getitem__(self, name: str):
        load_builtins()
        if name not in self._entries:
            raise RegistryError(
                f"unknown {self.what} '{name}'; choose one of {', '.join(self)}"
                " (or load the plugin that registers it with --plugins)"
            )
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        load_builtins()
        return iter(self._entries)

    def __len__(self) -> int:
        load_builtins()
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        load_builtins()
        return name in self._entries

    def remove(self, name: str) -> None:
        """Forget an entry (tests that register a throw-away name)."""
        self._entries.pop(name, None)
        self._sources.pop(name, None)


TRANSFORMS = Registry("transform", "feature transform (model.transform / --transform)")
STYLE_LOSSES = Registry("style loss", "style loss (loss.style_loss / --style-loss)")
ENCODERS = Registry("encoder", "encoder (model.encoder.kind)")
DECODERS = Registry("decoder", "decoder (model.decoder.kind)")
FEATURE_NETS = Registry("feature net", "feature network (--feature-net)")
REGISTRIES = {r.kind: r for r in (TRANSFORMS, STYLE_LOSSES, ENCODERS, DECODERS, FEATURE_NETS)}


def load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in _BUILTINS:
            importlib.import_module(module)


def lookup(table: Mapping, name: str, what: str):
    """table[name] for a plain dict table, or a one-line RegistryError naming `what` and the known
    names."""
    if name not in table:
        raise RegistryError(f"unknown {what} '{name}'; choose one of {', '.join(table)}")
    return table[name]


# ---- the decorators: each works on a function or class (returned unchanged) or takes the entry
# directly
def _decorator(add: Callable[[object], None], entry):
    if entry is not None:
        add(entry)
        return entry

    def register(obj):
        add(obj)
        return obj

    return register


def register_transform(name: str, entry=None):
    """Register a feature transform: a plain `f(content, style) -> features` on (B, C, H, W) maps,
    or an object with `stats` and `apply` (and optionally `mix`, `pool`, `accumulator`):
    models/transforms.py."""
    from models.transfer import as_transform  # the protocol: models/transfer.py

    return _decorator(
        lambda obj: TRANSFORMS.add(name, as_transform(obj, name), _module(obj)), entry
    )


def register_style_loss(name: str, entry=None):
    """Register a style loss: a plain per-layer `f(output, target) -> scalar` on (B, C, H, W)
    features, or a models.losses.StyleLoss(statistic, distance) whose statistic is precomputed once
    per style."""
    from models.losses import as_style_loss

    return _decorator(lambda obj: STYLE_LOSSES.add(name, as_style_loss(obj), _module(obj)), entry)


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder builder `(cfg: EncoderConfig, layer: str) -> nn.Module` and its layers.

    The module maps (B, 3, H, W) images in [0, 1] to {layer: (B, C, H/s, W/s)} features, normalizes
    its own input, and has `.strides` and `.channels`: {layer: int} for every layer it can return.
    """

    build: Callable[..., nn.Module]
    default_layer: str
    layers: Callable[
        [str], bool
    ]  # is this a layer name the encoder knows (checked when a config is read)
    layer_help: str  # the allowed layers, for the error message


def register_encoder(
    name: str,
    default_layer: str,
    layers: Sequence[str] | Callable[[str], bool],
    layer_help: str = "",
):
    """Register an encoder builder (see EncoderSpec for the module it returns)."""
    known = layers if callable(layers) else frozenset(layers).__contains__
    help_text = layer_help or ", ".join(layers)
    return _decorator(
        lambda b: ENCODERS.add(name, EncoderSpec(b, default_layer, known, help_text), _module(b)),
        None,
    )


def register_decoder(name: str):
    """Register a decoder builder `(in_channels, stride, cfg: DecoderConfig) -> nn.Module` mapping
    (B, C, h, w) features to (B, 3, h * stride, w * stride) images in [0, 1]."""
    return _decorator(lambda b: DECODERS.add(name, b, _module(b)), None)


@dataclass(frozen=True)
class FeatureNetSpec:
    """A feature network of the optimization: `build(layers, pretrained=, weights_file=)` and
    defaults."""

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
    """Register a frozen feature network for the per-image optimization (models/gatys.py)."""

    def add(build) -> None:
        spec = FeatureNetSpec(
            build, tuple(content_layers), tuple(style_layers), tuple(known_layers)
        )
        FEATURE_NETS.add(name, spec, _module(build))

    return _decorator(add, None)


def _module(obj) -> str:
    return getattr(obj, "__module__", "") or ""


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
    from weights.pretrained import parse_weights  # the one parser of that spec string

    spec, source = FEATURE_NETS[name], parse_weights(weights)
    unknown = [layer for layer in layers if layer not in spec.known_layers]
    if unknown:
        raise RegistryError(
            f"unknown {name} layer(s) {', '.join(unknown)}; known: {', '.join(spec.known_layers)}"
        )
    return spec.build(tuple(layers), pretrained=source.pretrained, weights_file=source.file).eval()


# ---- plugins (configs/plugins.py imports them): what each one registered
@contextmanager
def registering_for(plugin: str) -> Iterator[None]:
    """Record the registrations made inside under `plugin`; if the block fails, undo them."""
    _plugins[plugin], ok = [], False
    _loading.append(plugin)
    try:
        yield
        ok = True
    finally:
        _loading.pop()
        if not ok:
            forget_plugin(plugin)


def forget_plugin(plugin: str) -> None:
    """Undo a plugin's registrations (a failed import, or a test's throw-away plugin)."""
    for kind, name in _plugins.pop(plugin, []):
        REGISTRIES[kind].remove(name)


def loaded_plugins() -> dict[str, list[str]]:
    """{plugin: ['transform:name', ...]} of every plugin loaded in this process."""
    return {key: [f"{kind}:{name}" for kind, name in names] for key, names in _plugins.items()}


def plugin_of(kind: str, name: str) -> str | None:
    """The plugin that registered a name of this kind, if a plugin did."""
    return REGISTRIES[kind]._sources.get(name)
