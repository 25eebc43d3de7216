"""Whether the pretrained weights a config asks for can be had on this machine: cached, or
downloadable now; checked in validate()'s one pass, before a run builds anything.

Nothing is downloaded here. A library's download is judged possible when its host answers a TCP
connect within 3 s and HF_HUB_OFFLINE is not set; the download itself then says what goes wrong.
"""

from __future__ import annotations

import typing
from urllib.parse import urlsplit

from configs.schema import Config, EncoderConfig, VGGArch

FIX = "pretrained=false (random weights, smoke runs only)"


def weights_problems(cfg: Config) -> list[str]:
    """One line per pretrained network the run would load that is neither cached nor
    downloadable: torchvision's VGGs (encoder, loss network), a timm ViT encoder's hub weights."""
    return _torchvision_problems(cfg) + _timm_problems(cfg.model.encoder)


def _offline_why(host: str, port: int, offline: bool = False) -> str | None:
    """Why nothing can be downloaded from host:port now (None: it can): HF_HUB_OFFLINE (set in the
    environment, or `offline`: huggingface_hub's own flag), or no answer within 3 s."""
    from models.hub_files import connect_error, hub_offline_env

    if offline or hub_offline_env():
        return "HF_HUB_OFFLINE is set"
    err = connect_error(host, port, timeout=3)
    return None if err is None else f"{host} does not answer: {err}"


def _torchvision_problems(cfg: Config) -> list[str]:
    """torchvision's pretrained VGG files the run would download, when they are not cached and no
    download can happen."""
    from torchvision.models import get_weight

    from models.pretrained import torchvision_cache_path

    needed: dict[str, str] = {}  # arch -> the key that asks for it
    enc, loss = cfg.model.encoder, cfg.loss
    if enc.kind in typing.get_args(VGGArch) and enc.pretrained and not enc.weights_file:
        needed[enc.kind] = "model.encoder.pretrained"
    if loss.loss_net_pretrained and not loss.loss_net_weights_file:
        needed.setdefault(loss.loss_net, "loss.loss_net_pretrained")
    problems = []
    for arch, key in needed.items():
        url = get_weight(f"{arch.upper()}_Weights.IMAGENET1K_V1").url
        cached = torchvision_cache_path(url)
        if cached.is_file() or not (why := _offline_why(urlsplit(url).hostname, 443)):
            continue  # cached, or the download can happen: it will, when the network is built
        problems.append(
            f"{key}: true needs torchvision's {arch} weights, not cached and not downloadable "
            f"here ({why}); put {cached.name} at {cached} (from {url}), or set a local file "
            f"(weights_file=PATH) or {FIX}"
        )
    return problems


def _timm_problems(enc: EncoderConfig) -> list[str]:
    """A timm ViT encoder's hub weights (timm's pretrained_cfg hf_hub_id), when they are not in the
    Hugging Face cache and the hub cannot be reached (HF_HUB_OFFLINE, or no answer within 3 s)."""
    if enc.kind != "vit" or not enc.pretrained or enc.weights_file:
        return []
    import huggingface_hub.constants as hf_constants

    from models.hub_files import hub_address, timm_hub_files

    files = timm_hub_files(enc.name)  # empty: not from the hub; building the model says more
    if not files or any(f.cached() is not None for f in files):
        return []
    if not (why := _offline_why(*hub_address(), offline=hf_constants.HF_HUB_OFFLINE)):
        return []
    names = " or ".join(f.filename for f in files)
    return [
        f"model.encoder.pretrained: true needs timm's {enc.name} weights ({names} of the hub repo "
        f"{files[0].repo}), not in the Hugging Face cache {files[0].cache_folder()} and not "
        f"downloadable here ({why}); run once online to cache them, or set "
        f"model.encoder.weights_file=PATH or model.encoder.{FIX}"
    ]
