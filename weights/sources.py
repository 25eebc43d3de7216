"""The one parser of checkpoint specs: a local path, a release shipped in this repo (`hed-adain`),
`adain-release`, or `hf:USER/REPO[@REVISION]`.

weights/checkpoint.py's `weights_file` calls `resolve_checkpoint` first, so every reader of weights
(infer.py, app.py, eval.evaluate, model.init_from, export.py) takes every spec with no code of its
own. A local file or folder of the same name wins over a spec.
"""

from __future__ import annotations

from pathlib import Path

ADAIN_RELEASE = "adain-release"
HUB_PREFIX = "hf:"
# releases trained by this repo and stored in it: name -> releases/<name>/model.safetensors (each
# folder holds the model card and the script that trained it)
RELEASES_DIR = Path(__file__).resolve().parents[1] / "releases"
SHIPPED = ("hed-adain",)
SPECS_HELP = (
    f"{', '.join(SHIPPED)} (trained releases in this repo), {ADAIN_RELEASE} (pytorch-AdaIN's "
    "release, downloaded once) or hf:USER/REPO[@REVISION]"
)


def is_spec(value: str | Path) -> bool:
    """True for a release name or download spec that names no local path."""
    text = str(value)
    named = text in SHIPPED or text == ADAIN_RELEASE or text.startswith(HUB_PREFIX)
    return named and not Path(text).exists()


def shipped_release(name: str) -> Path:
    """The file of a release stored in this repo."""
    return RELEASES_DIR / name / "model.safetensors"


def resolve_checkpoint(value: str | Path) -> Path:
    """A local path for `value`: itself, or the cached file a spec downloads (weights/download.py,
    hub.py).

    Raises:
        DownloadError, HubError: the spec's file cannot be had (one line naming the URL or repo).
    """
    if not is_spec(value):
        return Path(value)
    if str(value) in SHIPPED:
        return shipped_release(str(value))
    if str(value) == ADAIN_RELEASE:
        from weights.download import (
            adain_release,  # downloads and conversions load only when asked for
        )

        return adain_release()
    from weights.hub import hub_checkpoint

    return hub_checkpoint(str(value))
