"""`--checkpoint adain-release`: pytorch-AdaIN's two release files, downloaded once, converted once.

    python infer.py --checkpoint adain-release --content photo.jpg --style art.jpg

The files (vgg_normalised.pth, decoder.pth; github.com/naoto0804/pytorch-AdaIN, README "Download
models", release v0.0.0) land in torch.hub's cache, `$TORCH_HOME/hub/checkpoints/`, beside
torchvision's weights. No hash is published, so a download counts as complete when it loads with
`weights_only=True` and its tensors are the release network's (names and shapes, checked by building
the network from it); until then it lives under a temp name, and a refused one leaves nothing
behind. Both files are then converted once by weights/convert.py into ADAIN_RELEASE_FILE in the same
folder, which every later use reads offline. `ADAIN_RELEASE_URL` replaces the base URL (a mirror;
the tests serve the files from 127.0.0.1).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from configs.read import load_config
from configs.schema import ConfigError
from media.files import atomic_path
from models.pretrained import PretrainedWeightsError
from weights.checkpoint import ADAIN_RELEASE, CheckpointError

BASE_URL = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
URL_ENV = "ADAIN_RELEASE_URL"
VGG_FILE, DECODER_FILE = "vgg_normalised.pth", "decoder.pth"
ADAIN_RELEASE_FILE = "adain_release.safetensors"  # the converted release, beside the two files
PRESET = Path(__file__).resolve().parents[1] / "configs" / "adain_original.yaml"


class DownloadError(CheckpointError):
    """A release file that could not be downloaded, or that is not the release's file."""


def checkpoints_dir() -> Path:
    """torch.hub's weights cache: `$TORCH_HOME/hub/checkpoints` (default
    ~/.cache/torch/hub/checkpoints).
    """
    return Path(torch.hub.get_dir()) / "checkpoints"


def base_url() -> str:
    return os.environ.get(URL_ENV, "").strip().rstrip("/") or BASE_URL


def adain_release() -> Path:
    """The converted release file: cached, else built from the cached or downloaded two files.

    Raises:
        DownloadError: a download failed or delivered something else than the release file (one
            line, naming the URL; nothing is cached), or there is no network and no cache (says
            where
            to put them).
    """
    folder = checkpoints_dir()
    release = folder / ADAIN_RELEASE_FILE
    if release.is_file():
        return release
    cfg = load_config(PRESET).model
    vgg = _fetch(folder, VGG_FILE, lambda tmp: _check_vgg(cfg, tmp))
    decoder = _fetch(folder, DECODER_FILE, lambda tmp: _check_decoder(cfg, tmp, vgg))
    from weights.convert import convert_files  # conversions load only when asked for

    convert_files(ADAIN_RELEASE, {"vgg": vgg, "decoder": decoder}, release)
    return release


def _fetch(folder: Path, name: str, check) -> Path:
    """`folder/name`: present, else downloaded to a temp name, checked by `check(tmp)`, then
    renamed.
    """
    path = folder / name
    if path.is_file():
        return path
    url = f"{base_url()}/{name}"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # renamed onto `path` only when the block completes
        try:
            torch.hub.download_url_to_file(url, str(tmp), progress=True)  # its own tqdm bar
        except Exception as err:  # URLError offline, HTTPError 404, a connection reset midway
            raise DownloadError(
                f"could not download {url} ({type(err).__name__}: {str(err)[:120]}). "
                f"Offline: download {VGG_FILE} and {DECODER_FILE} from {BASE_URL} elsewhere and "
                f"put both in {folder} "
                f"(or set TORCH_HOME, or {URL_ENV} to a mirror)"
            ) from None
        try:
            check(tmp)
        except (PretrainedWeightsError, ConfigError, ValueError, RuntimeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0].replace(str(tmp), "the file")
            raise DownloadError(
                f"{url} did not deliver pytorch-AdaIN's {name} (truncated, an HTML page, empty or "
                f"another network: {first[:240]}); nothing was cached, try again or set "
                f"{URL_ENV} to another mirror"
            ) from None
    return path


def _check_vgg(cfg, tmp: Path) -> None:
    """The file loads and builds the release encoder (vgg_normalised layout: names and shapes)."""
    from models.registry import build_encoder

    if tmp.stat().st_size == 0:
        raise ValueError("the file is empty")
    build_encoder(dataclasses.replace(cfg.encoder, pretrained=False, weights_file=str(tmp)))


def _check_decoder(cfg, tmp: Path, vgg: Path) -> None:
    """The file loads as the release decoder (by name, else module order and shapes) beside the
    encoder.
    """
    from weights.load import load_model

    if tmp.stat().st_size == 0:
        raise ValueError("the file is empty")
    load_model(tmp, cfg, pretrained=False, weights_file=str(vgg))
