"""Loading weights: `load_model` rebuilds a network from a file, `load_into` fills a built one.

`load_model` rebuilds the network from a release file alone (the model config in its metadata,
written by weights/release.py), and also reads plain `.pth`/`.pt` state dicts (DataParallel/DDP
`module.` and torch.compile `_orig_mod.` prefixes in any nesting, full-model dicts such as the ViT
notebook's `vit_encoder.*` / `decoder.*` / `vgg_loss_net.*`, bare decoders such as pytorch-AdaIN's
decoder.pth) when given the model config. A foreign file's tensors are matched by name, else by
module order and shapes, and a transposed-conv decoder's stage widths and norm affinity are read
from the file (weights/foreign.py). Whatever is wrong with a file (missing, unreadable, another
architecture, NaN/inf weights, a plugin not loaded) is one CheckpointError line.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from configs.read import model_config_from_json
from configs.schema import ConfigError, ModelConfig
from models.net import StyleTransferNet
from models.pretrained import PretrainedWeightsError, read_state_dict, uses_random_weights
from weights.checkpoint import SPECS_HELP, CheckpointError, read_metadata, weights_file
from weights.foreign import clean_keys, decoder_from_file, match_foreign, natural_order
from weights.plugin_meta import check_plugins

__all__ = ["load_into", "load_model"]

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
        # safetensors' text ("header too small") names its parser's state, not the problem
        except Exception:
            raise CheckpointError(
                f"{path} is not a readable safetensors file (its header does not parse); pass "
                f"{CHECKPOINT_KINDS}"
            ) from None
    # torch.load's own text is ~400 characters about weights_only defaults
    if _not_a_torch_file(path):
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
        try:
            model_cfg = decoder_from_file(model_cfg, state, path)
        except ValueError as err:
            raise CheckpointError(f"{path}: {err}") from None
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
        state, note = match_foreign(net.state_dict(), state, has_encoder)
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
        check_plugins(path, meta)
        try:
            file_cfg = model_config_from_json(meta["model_config"])
        except (ConfigError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{path}: model_config metadata: {err}") from None
        except RecursionError:  # json and the schema reader recurse once per bracket
            raise CheckpointError(
                f"{path}: model_config metadata is nested too deeply to be a model config (a "
                "damaged or hostile file); use a release file written by train.py or export.py"
            ) from None
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
    if file_cfg is None:
        state, note = match_foreign(net.state_dict(), state, has_encoder)
    else:
        note = ""
    _load_strict(net, state, path, has_encoder, note)


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
