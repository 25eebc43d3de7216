"""The ArtFID authors' art_inception network: Inception-v3 fine-tuned on art, as FID's feature
extractor.

Architecture: torchvision's Inception3 (StyleID evaluation/inception.py is a copy of it with two
classifier heads, fc1/fc2 and AuxLogits1/2, that FID never uses); features are the 2048-d
average-pooled Mixed_7c output (`return_features=True`, inception.py:141), on [0, 1] images with no
normalization (transform_input=False, inception.py:24) at any size (no resize to 299).

Weights file `art_inception.pth` (StyleID eval_artfid.py:17, `CKPT_URL`), looked up in this order:
`--art-inception FILE`; the Hugging Face hub cache (repo matthias-wright/art_inception); StyleID's
own download place `<tempdir>/art_fid/art_inception.pth` (evaluation/utils.py:10-12); a hub download
unless offline (HF_HUB_OFFLINE=1, read at call time, or a hub that does not answer a TCP connect
within 3 s): offline, a missing file is one line at once, never huggingface_hub's minute of retries.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import nn
from torchvision.models import Inception3

from models.hub_files import hub_offline_env, make_hub_offline_fast
from models.pretrained import PretrainedWeightsError, read_state_dict

REPO_ID, FILENAME = "matthias-wright/art_inception", "art_inception.pth"
CKPT_URL = f"https://huggingface.co/{REPO_ID}/resolve/main/{FILENAME}"
_HEADS = (
    "fc",
    "fc1.",
    "fc2.",
    "AuxLogits",
)  # classifier heads: unused by FID, ignored when loading


MIN_SIDE = 75  # Inception v3's smallest input side: a smaller one ends in a 3x3 kernel over 2 px


class ArtInceptionUnavailable(RuntimeError):
    """The art_inception weights cannot be found or read (message: the file and where to put it)."""


def styleid_cache_path() -> Path:
    return Path(tempfile.gettempdir()) / "art_fid" / FILENAME


def locate(path: str | None = None) -> Path:
    """The art_inception.pth to use (see the module docstring for the order)."""
    if path:
        if not Path(path).is_file():
            raise ArtInceptionUnavailable(
                f"--art-inception {path} does not exist; give the path of "
                f"{FILENAME} (download: {CKPT_URL})"
            )
        return Path(path)
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(REPO_ID, FILENAME)
    if isinstance(cached, str):
        return Path(cached)
    if styleid_cache_path().is_file():
        return styleid_cache_path()
    where = (
        f"download {CKPT_URL} and pass --art-inception FILE (or put it at {styleid_cache_path()})"
    )
    # the library reads HF_HUB_OFFLINE once, at its import: the variable is honoured here too
    make_hub_offline_fast()
    if hf_constants.HF_HUB_OFFLINE or hub_offline_env():
        raise ArtInceptionUnavailable(
            f"art_inception weights {FILENAME} are not cached and the hub is offline "
            f"(HF_HUB_OFFLINE or no network); {where}"
        )
    try:
        return Path(hf_hub_download(REPO_ID, FILENAME))
    except Exception as error:  # firewalled, hub error: all mean "not here"
        raise ArtInceptionUnavailable(
            f"art_inception weights {FILENAME} not found ({type(error).__name__}); {where}"
        ) from None


def features_net(spread: bool = False) -> nn.Module:
    """Inception3 without heads: forward((B, 3, H, W) in [0, 1]) -> (B, 2048) pooled features.

    spread: random He-normal convolutions (fan in), for random-weight runs: PyTorch's default init
    shrinks activations layer by layer and leaves ~0 features (every FID ~1e-15 whatever the
    images).
    """
    net = Inception3(aux_logits=False, transform_input=False, init_weights=False)
    net.fc = nn.Identity()  # the pooled, flattened Mixed_7c output (dropout is a no-op in eval)
    if spread:
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net.eval()


def load_art_inception(path: str | None = None) -> nn.Module:
    """The feature network with the art_inception weights; every backbone key must be in the file.

    StyleID loads with strict=False (eval_artfid.py:189), which would also accept a file that
    matches
    nothing; here only the classifier heads may be absent or extra.
    """
    file = locate(path)
    try:
        state = read_state_dict(file)
    except PretrainedWeightsError as error:
        raise ArtInceptionUnavailable(str(error)) from None
    net = features_net()
    wanted = {k for k in net.state_dict() if not k.startswith(_HEADS)}
    missing = sorted(wanted - set(state))
    if missing:
        raise ArtInceptionUnavailable(
            f"{file} is not an art_inception state dict: {len(missing)} backbone keys "
            f"missing (e.g. {', '.join(missing[:3])}); download {CKPT_URL}"
        )
    backbone = {k: v for k, v in state.items() if k in wanted}
    net.load_state_dict(backbone, strict=False)
    return net.eval().requires_grad_(False)


@torch.no_grad()
def pooled_features(net: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> (B, 2048) float64 features (FID's statistics are in float64 as in
    numpy)."""
    return net(image).double()
