"""Release checkpoints: the trainable weights as safetensors with the model config in the metadata.

`save_release` writes what inference needs and nothing more: the decoder, plus the encoder when its
weights cannot be re-obtained from a library (random or fine-tuned). Frozen pretrained networks are
not copied in. `load_model` rebuilds the network from the file alone, and also reads plain
`.pth`/`.pt` state dicts (DataParallel/DDP `module.` and torch.compile `_orig_mod.` prefixes in any
nesting, full-model dicts such as the ViT notebook's `vit_encoder.*` / `decoder.*` / `vgg_loss_net.*`)
when given the model config. Resumable training state (optimizer, step, RNG) lives elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from configs.schema import ConfigError, ModelConfig, model_config_from_json, to_json
from data_prep.files import atomic_path
from models.net import StyleTransferNet
from models.pretrained import PretrainedWeightsError, read_state_dict, uses_random_weights

FORMAT = "adain-style-transfer/release-v1"
# prefixes of other full-model dicts mapped onto ours; loss networks are never needed for inference
KEY_RENAMES = (("vit_encoder.", "encoder.model."), ("vgg_encoder.", "encoder.body."))
IGNORED_PREFIXES = ("loss_net.", "vgg_loss_net.", "vgg_loss.")


class CheckpointError(RuntimeError):
    """A weights or training-state file that cannot be used: missing, unreadable, or of another architecture."""


def release_state_dict(net: StyleTransferNet) -> dict[str, torch.Tensor]:
    """The tensors a release file holds: decoder.*, plus encoder.* when it is random or trained."""
    keep = ("decoder.", "encoder.") if uses_random_weights(net.cfg.encoder) else ("decoder.",)
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items() if k.startswith(keep)}


def save_release(path: str | Path, net: StyleTransferNet, metadata: dict[str, str] | None = None) -> Path:
    """Write the release safetensors file atomically; `metadata` adds str->str entries (step, loss config)."""
    path = Path(path)
    meta = {"format": FORMAT, "model_config": to_json(net.cfg), **{k: str(v) for k, v in (metadata or {}).items()}}
    state = release_state_dict(net)
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def clean_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop `module.` / `_orig_mod.` path components anywhere, map foreign prefixes, drop loss networks."""
    out = {}
    for key, value in state.items():
        key = ".".join(part for part in key.split(".") if part not in ("module", "_orig_mod"))
        for old, new in KEY_RENAMES:
            if key.startswith(old):
                key = new + key[len(old) :]
        if not key.startswith(IGNORED_PREFIXES):
            out[key] = value
    return out


def _read_any(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path)), read_metadata(path)
        except Exception as err:
            raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None
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
    """Rebuild a StyleTransferNet from a release file (config from its metadata) or a state dict + config.

    Args:
        path: `.safetensors` release file, or `.pth`/`.pt` state dict.
        model_cfg: required for files without a `model_config` in their metadata; overrides it otherwise.
        encoder_overrides: EncoderConfig fields to change (e.g. pretrained=False, weights_file=...)
            for an encoder that the file does not hold.
    """
    path = Path(path)
    state, meta = _read_any(path)
    if model_cfg is None:
        if "model_config" not in meta:
            raise CheckpointError(
                f"{path} carries no model config (plain state dict or foreign file): pass the model config "
                "(e.g. infer.py --config configs/<experiment>.yaml) so the architecture can be built"
            )
        try:
            model_cfg = model_config_from_json(meta["model_config"])
        except (ConfigError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{path}: unreadable model_config metadata ({err})") from None
    state = clean_keys(state)
    if state and not any(k.startswith(("decoder.", "encoder.")) for k in state):
        state = {f"decoder.{k}": v for k, v in state.items()}  # a bare decoder.state_dict()
    has_encoder = any(k.startswith("encoder.") for k in state)
    enc = dataclasses.replace(model_cfg.encoder, **encoder_overrides)
    if has_encoder:  # the file holds the encoder: build it without downloading anything
        build_enc = dataclasses.replace(enc, pretrained=False, weights_file="")
    elif uses_random_weights(enc):
        raise CheckpointError(
            f"{path} holds no encoder weights but the model config asks for a random/trainable encoder; "
            "pass the encoder weights (infer.py --weights pretrained|PATH)"
        )
    else:
        build_enc = enc
    net = StyleTransferNet(dataclasses.replace(model_cfg, encoder=build_enc))
    _load_strict(net, state, path, has_encoder)
    net.cfg = dataclasses.replace(model_cfg, encoder=enc if not has_encoder else model_cfg.encoder)
    return net.to(map_location).eval()


def _load_strict(net: StyleTransferNet, state: dict[str, torch.Tensor], path: Path, has_encoder: bool) -> None:
    expected = {k: v for k, v in net.state_dict().items() if k.startswith("decoder.") or has_encoder}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        def show(keys):
            return ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "") or "none"

        raise CheckpointError(
            f"{path} does not fit the model {net.cfg.encoder.kind}+{net.cfg.decoder.kind}: "
            f"missing keys: {show(missing)}; unexpected keys: {show(unexpected)}; shape mismatches: {show(wrong)}. "
            "Was it saved from a different architecture or config?"
        )
    net.load_state_dict(state, strict=False)
