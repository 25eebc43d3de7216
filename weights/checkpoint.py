"""Release checkpoints: the trainable weights as safetensors with the model config in the metadata.

`save_release` writes what inference needs and nothing more: the decoder, plus the encoder when its
weights cannot be re-obtained from a library (random or fine-tuned). Frozen pretrained networks are
not copied in. `load_model` rebuilds the network from the file alone, and also reads plain
`.pth`/`.pt` state dicts (DataParallel/DDP `module.` and torch.compile `_orig_mod.` prefixes in any
nesting, full-model dicts such as the ViT notebook's `vit_encoder.*` / `decoder.*` /
`vgg_loss_net.*`, bare decoders such as pytorch-AdaIN's decoder.pth) when given the model config. A
foreign file's tensors are matched by name, else by module order and shapes (weights/foreign.py),
and a transposed-conv decoder's stage widths and norm affinity are read from the file. Resumable
training state lives elsewhere.

Names: a run folder's release file is RELEASE_FILE; a training step checkpoint folder holds its
weights in the same format as STEP_WEIGHTS (a different name, so no file called model.safetensors is
ever a resume-only file). `load_model` takes either file, or the folder that holds one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from configs.read import model_config_from_json
from configs.schema import ConfigError, ModelConfig, to_json
from media.files import atomic_path
from models.net import StyleTransferNet
from models.registry import REGISTRIES, plugin_of
from weights.foreign import match_section, natural_order, transposed_conv_arch
from weights.pretrained import PretrainedWeightsError, read_state_dict, uses_random_weights
from weights.resolve import SPECS_HELP, resolve_checkpoint

log = logging.getLogger(__name__)

FORMAT = "adain-style-transfer/release-v1"
RELEASE_FILE = "model.safetensors"  # in a run folder: what infer.py and eval read
STEP_WEIGHTS = "weights.safetensors"  # in a step checkpoint folder (training/checkpoints.py)
ONNX_META = "onnx_model.json"  # an ONNX export folder's description (weights/onnx_export.py)
# prefixes of other full-model dicts mapped onto ours; loss networks are never needed for inference
KEY_RENAMES = (("vit_encoder.", "encoder.model."), ("vgg_encoder.", "encoder.body."))
IGNORED_PREFIXES = ("loss_net.", "vgg_loss_net.", "vgg_loss.")
# a ViT's classifier head never touches the patch tokens (the encoder is built with num_classes=0)
UNUSED_PREFIXES = ("encoder.model.head.",)


class CheckpointError(RuntimeError):
    """A weights or training-state file that cannot be used: missing, unreadable, or of another
    architecture."""


def release_state_dict(net: StyleTransferNet) -> dict[str, torch.Tensor]:
    """The tensors a release file holds: decoder.*, plus encoder.* when it is random or trained."""
    keep = ("decoder.", "encoder.") if uses_random_weights(net.cfg.encoder) else ("decoder.",)
    return {
        k: v.detach().cpu().contiguous() for k, v in net.state_dict().items() if k.startswith(keep)
    }


def save_release(
    path: str | Path,
    net: StyleTransferNet,
    metadata: dict[str, str] | None = None,
    extra: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write the release safetensors file atomically; `metadata` adds str->str entries (step, loss
    config).

    `extra` adds tensors under IGNORED_PREFIXES (a step checkpoint's random loss network): loaders
    skip them.
    """
    path = Path(path)
    if extra and not all(k.startswith(IGNORED_PREFIXES) for k in extra):
        raise ValueError(
            f"extra tensors must start with one of {IGNORED_PREFIXES}, or "
            f"loaders would trip on them"
        )
    meta = {
        "format": FORMAT,
        "model_config": to_json(net.cfg),
        "plugins": json.dumps(_plugins_used(net.cfg)),
        **{k: str(v) for k, v in (metadata or {}).items()},
    }
    state = {**release_state_dict(net), **(extra or {})}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def _plugins_used(cfg: ModelConfig) -> dict[str, str]:
    """{'kind:name': plugin} for the model's transform, encoder and decoder that a plugin
    registered."""
    used = (
        ("transform", cfg.transform),
        ("encoder", cfg.encoder.kind),
        ("decoder", cfg.decoder.kind),
    )
    return {f"{kind}:{name}": plugin for kind, name in used if (plugin := plugin_of(kind, name))}


def _check_plugins(path: Path, meta: dict[str, str]) -> None:
    """A file whose names come from plugins that are not loaded: one line naming the plugin."""
    for key, plugin in json.loads(meta.get("plugins") or "{}").items():
        kind, name = key.split(":", 1)
        if name not in REGISTRIES[kind]:
            raise CheckpointError(
                f"{path}: its {kind} '{name}' comes from the plugin {plugin}, which is not "
                f"loaded; pass --plugins {plugin}"
            )


def weights_file(path: str | Path) -> Path:
    """The weights file `path` names: a file itself, a step checkpoint folder's STEP_WEIGHTS, a
    run's or hub folder's RELEASE_FILE, or the cached file of a download spec (weights/resolve.py:
    adain-release, hf:)."""
    path = resolve_checkpoint(path)
    if not path.is_dir():
        return path
    for name in (STEP_WEIGHTS, RELEASE_FILE):
        if (path / name).is_file():
            return path / name
    if (path / ONNX_META).is_file():
        raise CheckpointError(
            f"{path} is an ONNX export (python export.py --out): run it with infer.py --backend "
            "onnxruntime, or pass the checkpoint it was exported from"
        )
    raise CheckpointError(
        f"{path} is a folder without {STEP_WEIGHTS} (a training step checkpoint, "
        f"RUN/checkpoints/step_XXXXXX) or {RELEASE_FILE} (a run or hub folder's release file); "
        f"pass one of those folders, a weights file, or {SPECS_HELP}"
    )


def read_metadata(path: str | Path) -> dict[str, str]:
    """The str->str metadata of a safetensors file, or of the one a checkpoint folder holds (see
    weights_file)."""
    with safe_open(str(weights_file(path)), framework="pt") as f:
        return dict(f.metadata() or {})


def clean_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop `module.` / `_orig_mod.` path components anywhere, map foreign prefixes, drop loss
    networks."""
    out = {}
    for key, value in state.items():
        key = ".".join(part for part in key.split(".") if part not in ("module", "_orig_mod"))
        for old, new in KEY_RENAMES:
            if key.startswith(old):
                key = new + key[len(old) :]
        if not key.startswith(IGNORED_PREFIXES + UNUSED_PREFIXES):
            out[key] = value
    return out


CHECKPOINT_KINDS = (
    "a release .safetensors file, a step folder (RUN/checkpoints/step_XXXXXX) or a .pth state dict"
)


def _not_a_torch_file(path: Path) -> bool:
    """Neither torch.save's zip format nor its legacy pickle (protocol 2+ starts with 0x80)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return not (head.startswith(b"PK") or head[:1] == b"\x80")


def _read_any(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist (a file, a folder, or {SPECS_HELP})"
        )
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path)), read_metadata(path)
        except (
            Exception
        ):  # safetensors' text ("header too small") names its parser's state, not the problem
            raise CheckpointError(
                f"{path} is not a readable safetensors file (its header does not parse); pass "
                f"{CHECKPOINT_KINDS}"
            ) from None
    if _not_a_torch_file(
        path
    ):  # torch.load's own text is ~400 characters about weights_only defaults
        raise CheckpointError(
            f"{path} is not a checkpoint (no torch.save or safetensors data); pass "
            f"{CHECKPOINT_KINDS}"
        )
    try:
        return read_state_dict(path), {}
    except PretrainedWeightsError as err:
        raise CheckpointError(str(err)) from None


def load_model(
    path: str | Path,
    model_cfg: ModelConfig | None = None,
    map_location: str | torch.device = "cpu",
    **encoder_overrides,
) -> StyleTransferNet:
    """Rebuild a StyleTransferNet from a release file (config from its metadata) or a state dict +
    config.

    Args:
        path: `.safetensors` release file, a step checkpoint folder or its STEP_WEIGHTS, a run
            folder (its RELEASE_FILE), or a `.pth`/`.pt` state dict.
        model_cfg: required for files without a `model_config` in their metadata; overrides it
            otherwise.
        encoder_overrides: EncoderConfig fields to change (e.g. pretrained=False, weights_file=...)
            for an encoder that the file does not hold.

    Returns the network in eval mode with requires_grad off (fine-tuning loads with `load_into`).
    """
    path, state, file_cfg = _read_weights(path)
    foreign = file_cfg is None  # another program's names and architecture details
    if model_cfg is None:
        if foreign:
            raise CheckpointError(
                f"{path} carries no model config (plain state dict or foreign file): pass the "
                "model config (e.g. infer.py --config configs/<experiment>.yaml) so "
                "the architecture can be built"
            )
        model_cfg = file_cfg
    if foreign:
        model_cfg = _decoder_from_file(model_cfg, state, path)
    has_encoder = any(k.startswith("encoder.") for k in state)
    enc = dataclasses.replace(model_cfg.encoder, **encoder_overrides)
    if has_encoder:  # the file holds the encoder: build it without downloading anything
        build_enc = dataclasses.replace(enc, pretrained=False, weights_file="")
    elif uses_random_weights(enc):
        raise CheckpointError(
            f"{path} holds no encoder weights but the model config asks for a random/trainable "
            "encoder; give the encoder's weights (pretrained, or a weights file)"
        )
    else:
        build_enc = enc
    net = StyleTransferNet(dataclasses.replace(model_cfg, encoder=build_enc))
    note = ""
    if foreign:
        state, note = _match_foreign(net, state, has_encoder)
    _load_strict(net, state, path, has_encoder, note)
    net.cfg = dataclasses.replace(model_cfg, encoder=enc if not has_encoder else model_cfg.encoder)
    # a loaded model is for inference: no parameter records a graph, even outside inference_mode (an
    # evaluation loop that forgot it would keep ~100 MB of activations per 256 px pair on the GPU)
    return net.to(map_location).eval().requires_grad_(False)


def _read_weights(path: str | Path) -> tuple[Path, dict[str, torch.Tensor], ModelConfig | None]:
    """(the weights file, its tensors under model keys where names allow, its model config or None
    if foreign)."""
    path = weights_file(path)
    state, meta = _read_any(path)
    file_cfg = None
    if "model_config" in meta:
        _check_plugins(path, meta)
        try:
            file_cfg = model_config_from_json(meta["model_config"])
        except (ConfigError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{path}: model_config metadata: {err}") from None
    state = clean_keys(
        natural_order(state) if file_cfg is None and path.suffix == ".safetensors" else state
    )
    if state and not any(k.startswith(("decoder.", "encoder.")) for k in state):
        state = {f"decoder.{k}": v for k, v in state.items()}  # a bare decoder.state_dict()
    return path, state, file_cfg


# ModelConfig fields that are not compared by `load_into`: where weights come from, and what the
# tensor shapes already check (a wrong width or norm affinity is a shape or key mismatch)
_NOT_COMPARED = {
    "init_from",
    "transform",
    "encoder.pretrained",
    "encoder.weights_file",
    "encoder.trainable",
    "decoder.width",
    "decoder.widths",
    "decoder.norm_affine",
}


def _architecture(cfg: ModelConfig) -> dict[str, object]:
    flat = {}
    for key, value in dataclasses.asdict(cfg).items():
        for sub, v in value.items() if isinstance(value, dict) else [("", value)]:
            flat[f"{key}.{sub}" if sub else key] = v
    return {k: v for k, v in flat.items() if k not in _NOT_COMPARED}


def load_into(net: StyleTransferNet, path: str | Path) -> None:
    """Load a release file, step folder or foreign state dict into `net` (model.init_from:
    fine-tuning's start).

    The file's decoder (and encoder, when it holds one) must be `net`'s architecture: a release
    file's config is compared on what the shapes cannot show (activation, normalization, padding,
    layout, ...), and the tensors are loaded strictly, a foreign file's after matching by name or
    module order and shapes.
    """
    path, state, file_cfg = _read_weights(path)
    if file_cfg is not None:
        mine, theirs = _architecture(net.cfg), _architecture(file_cfg)
        diff = [f"model.{k}={theirs[k]!r}" for k in mine if mine[k] != theirs[k]]
        if diff:
            raise CheckpointError(
                f"model.init_from {path} holds another network: it has {', '.join(diff)}, the "
                "config does not; set those keys as the file has them"
            )
    has_encoder = any(k.startswith("encoder.") for k in state)
    state, note = _match_foreign(net, state, has_encoder) if file_cfg is None else (state, "")
    _load_strict(net, state, path, has_encoder, note)


def _decoder_from_file(
    model_cfg: ModelConfig, state: dict[str, torch.Tensor], path: Path
) -> ModelConfig:
    """A transposed-conv decoder's widths and norm affinity as the file holds them (notebooks vary
    both)."""
    decoder = {k: v for k, v in state.items() if k.startswith("decoder.")}
    if model_cfg.decoder.kind != "transposed_conv" or not decoder:
        return model_cfg
    try:
        widths, affine = transposed_conv_arch(decoder)
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from None
    dec = model_cfg.decoder
    if (list(dec.widths), dec.norm_affine) != (widths, affine):
        log.info("%s: decoder widths %s, norm_affine=%s read from the file", path, widths, affine)
    return dataclasses.replace(
        model_cfg, decoder=dataclasses.replace(dec, widths=widths, norm_affine=affine)
    )


def _match_foreign(
    net: StyleTransferNet, state: dict[str, torch.Tensor], has_encoder: bool
) -> tuple[dict[str, torch.Tensor], str]:
    """Rename a foreign file's encoder/decoder tensors onto the model's keys; (state, why not, for
    the error)."""
    model = net.state_dict()
    out, notes = {k: v for k, v in state.items() if not k.startswith(("encoder.", "decoder."))}, []
    for section in ("encoder.", "decoder.") if has_encoder else ("decoder.",):
        ours = {k: v for k, v in model.items() if k.startswith(section)}
        theirs = {k: v for k, v in state.items() if k.startswith(section)}
        try:
            out.update(match_section(theirs, ours, section.rstrip(".")))
        except ValueError as err:
            out.update(theirs)
            notes.append(str(err))
    if not has_encoder:
        out.update({k: v for k, v in state.items() if k.startswith("encoder.")})
    return out, " ".join(notes)


def _load_strict(
    net: StyleTransferNet,
    state: dict[str, torch.Tensor],
    path: Path,
    has_encoder: bool,
    note: str = "",
) -> None:
    expected = {
        k: v for k, v in net.state_dict().items() if k.startswith("decoder.") or has_encoder
    }
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:

        def show(keys):
            return (
                ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "")
                or "none"
            )

        raise CheckpointError(
            f"{path} does not fit the model {net.cfg.encoder.kind}+{net.cfg.decoder.kind}: "
            f"missing keys: {show(missing)}; unexpected keys: {show(unexpected)}; shape "
            f"mismatches: {show(wrong)}. "
            "Was it saved from a different architecture or config?"
            + (f" Also, {note}" if note else "")
        )
    broken = [
        k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
    if broken:  # NaN/inf weights decode to a black image that looks like a result
        raise CheckpointError(
            f"{path} holds non-finite (NaN/inf) weights in {', '.join(broken[:8])}"
            f"{f' ... ({len(broken)} tensors)' if len(broken) > 8 else ''}; the training that "
            "wrote it diverged: use an earlier step checkpoint"
        )
    net.load_state_dict(state, strict=False)
