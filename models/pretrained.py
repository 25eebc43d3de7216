"""Where a network's published weights come from, and failing fast with a useful message when they
cannot be had.

Three sources, in the order a user reaches for them:
  1. an explicit local file (`weights_file`), read with `weights_only=True` (or safetensors);
  2. the library's own cache / download path (torchvision: `$TORCH_HOME/hub/checkpoints/<file>`;
     timm: the Hugging Face hub cache, asked through models/hub_files.py); HED's VGG16 is its own
     source (models/hed.py) and the VGG file layouts are read by models/vgg_weights.py;
  3. none: random weights (`pretrained: false`), for tests and smoke runs.
The networks load their weights through this file, so models/ needs nothing of the repo outside it
(as timm keeps `_pretrained.py` and `_hub.py` beside its models); weights/ (checkpoint files) and
the entry points import it from here.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file

from models.hub_files import hub_offline_env, make_hub_offline_fast


class PretrainedWeightsError(RuntimeError):
    """The requested pretrained weights are not available (offline, missing or unreadable file).

    The message says what is missing and where the library looks for it; each entry point adds how
    to choose other weights in its own words (train.py: config keys; infer.py/eval: --weights), so a
    hint never names a setting the command does not have.
    """


def random_encoder(encoder_cfg) -> bool:
    """An encoder with random weights that nobody trained: not pretrained, no weights file,
    frozen."""
    return not (encoder_cfg.pretrained or encoder_cfg.weights_file or encoder_cfg.trainable)


def random_weights_reason(encoder_cfg, loss: dict | None) -> str | None:
    """Why a model's images are no real stylizations, from its configs; None if nothing says so.

    A decoder trained on a random encoder (not pretrained, not trainable, no weights file) or
    against a random loss network (`loss_net_pretrained: false`, no weights file) learned nothing
    about pictures. `loss`: the file's loss config as a dict ({} or None when it has none).
    """
    if encoder_cfg is not None and random_encoder(encoder_cfg):
        return "holds a random-weight encoder (pretrained: false)"
    if loss and not (loss.get("loss_net_pretrained", True) or loss.get("loss_net_weights_file")):
        return "was trained against a random-weight loss network (loss_net_pretrained: false)"
    return None


def uses_random_weights(encoder_cfg) -> bool:
    """True when an encoder's weights cannot be re-obtained from a library, so checkpoints must hold
    them.

    Args:
        encoder_cfg: a models.config.EncoderConfig (trainable, pretrained, weights_file).
    """
    return encoder_cfg.trainable or random_encoder(encoder_cfg)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build random-weight networks from `seed` (the same weights every run) without touching the
    global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def torchvision_cache_path(url: str) -> Path:
    """The file torchvision's weights enum downloads `url` to (and reads from when present)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a plain tensor state dict from .safetensors or .pth/.pt/.bin, never executing pickled
    code."""
    path = Path(path)
    if not path.is_file():
        raise PretrainedWeightsError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    # pickle.UnpicklingError for code objects, RuntimeError for corrupt zips
    except Exception as err:
        raise PretrainedWeightsError(_load_failure(path, err)) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedWeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def _load_failure(path: Path, err: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in words a user can act on."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [""]
    # the pickled callable or class it would have called
    code = re.search(r"GLOBAL ([\w.]+)", str(err))
    if code:
        return (
            f"{path} is a pickle that refers to code ({code.group(1)}), not a plain tensor state "
            "dict; nothing was executed (weights_only=True). Re-save it as a state dict "
            "(torch.save(model.state_dict(), path)) or as safetensors"
        )
    if "zip archive" in lines[0] or "unexpected EOF" in lines[0] or isinstance(err, EOFError):
        return (
            f"{path} is truncated or corrupt ({type(err).__name__}: "
            f"{lines[0][:160]}); copy or download it again"
        )
    return (
        f"{path} is not a plain tensor state dict that loads with weights_only=True "
        f"({type(err).__name__}: {lines[0][:200]}); re-save it as a state dict "
        f"(torch.save(model.state_dict(), path)) or as safetensors"
    )


def load_torchvision_weights(url: str, what: str) -> dict[str, torch.Tensor]:
    """The state dict behind a torchvision weights enum URL: cached file, else a download, else a
    clear error."""
    cached = torchvision_cache_path(url)
    if cached.is_file():
        return read_state_dict(cached)
    if hub_offline_env():  # offline: one line at once, not a download that cannot succeed
        raise PretrainedWeightsError(
            f"the pretrained {what} weights {cached.name} are not cached and HF_HUB_OFFLINE is "
            f"set; put the file at {cached} (download: {url}; TORCH_HOME moves the cache)"
        )
    try:
        return torch.hub.load_state_dict_from_url(
            url, map_location="cpu", weights_only=True, progress=True
        )
    except Exception as err:  # URLError offline, HTTPError, hash mismatch
        raise PretrainedWeightsError(
            f"could not download the pretrained {what} weights from {url} ({type(err).__name__}: "
            f"{err}). Offline: put the file at {cached} (or set TORCH_HOME)"
        ) from None


def timm_weights_error(name: str, weights_file: str, err: Exception) -> PretrainedWeightsError:
    """A timm model's weights could not be had: one line naming the source, and what to do."""
    import huggingface_hub.constants as hf_constants

    where = (
        f"the local file {weights_file}" if weights_file else "the Hugging Face hub (or its cache)"
    )
    return PretrainedWeightsError(
        f"could not load pretrained weights for timm model '{name}' from {where} "
        f"({type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}). Without the hub: "
        f"download the model's model.safetensors elsewhere and give its path as the weights "
        f"file (the hub cache is {hf_constants.HF_HUB_CACHE})"
    )


def create_timm_model(name: str, pretrained: bool, weights_file: str = "") -> torch.nn.Module:
    """timm's `name` as a feature network (no head, any image size): pretrained from the hub (or its
    cache), from a local file, or random; a missing model or weights file is one line."""
    kwargs = dict(num_classes=0, dynamic_img_size=True)
    if weights_file and not Path(weights_file).is_file():
        raise PretrainedWeightsError(f"ViT weights file {weights_file} does not exist")
    if weights_file:
        kwargs["pretrained_cfg_overlay"] = dict(file=str(weights_file))
    if pretrained or weights_file:
        make_hub_offline_fast()
    import timm  # here, not at the top: only a ViT run pays for its import

    from models.hub_files import ask_hub_once, timm_hub_files

    try:
        if pretrained and not weights_file and (files := timm_hub_files(name)):
            ask_hub_once(files[0])  # a failing hub: one request, not huggingface_hub's retries
        return timm.create_model(name, pretrained=bool(pretrained or weights_file), **kwargs)
    except RuntimeError as err:
        if "Unknown model" in str(err):
            raise ValueError(
                f"timm has no model '{name}' (timm.list_models('vit_*') lists them)"
            ) from None
        raise timm_weights_error(name, weights_file, err) from None
    except (OSError, ValueError) as err:  # LocalEntryNotFoundError, HubUnavailable: OSErrors
        raise timm_weights_error(name, weights_file, err) from None
