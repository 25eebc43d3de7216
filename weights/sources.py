"""The one function that turns a checkpoint spec into a local file: `resolve_checkpoint`.

A spec is a local path (a file, a run, step or hub folder), a release shipped in this repo
(checkpoint.SHIPPED: `hed-adain`, `hed-student`), `adain-release` (downloaded and converted once,
weights/download.py) or `hf:USER/REPO[@REVISION]` (weights/hub.py). A local file or folder of the
same name wins over a spec. Each entry point calls it once on the spec it was given
(inference/engine.py for infer.py and the demo, export.py, eval/methods.py, train.py's
model.init_from, training/distill.py's loss.teacher) and passes the local path down: the readers
below (weights/checkpoint.py, load.py, release.py, convert.py) know local files only and never
import this file, so no path helper can start a download (tests/test_house.py).
"""

from __future__ import annotations

from pathlib import Path

from weights.checkpoint import (
    ADAIN_RELEASE,
    HUB_PREFIX,
    RELEASE_FILE,
    RELEASES_DIR,
    SHIPPED,
    CheckpointError,
)


def is_spec(value: str | Path) -> bool:
    """True for a release name or download spec that names no local path."""
    text = str(value)
    named = text in SHIPPED or text == ADAIN_RELEASE or text.startswith(HUB_PREFIX)
    return named and not Path(text).exists()


def shipped_release(name: str) -> Path:
    """The file of a release stored in this repo."""
    return RELEASES_DIR / name / RELEASE_FILE


def resolve_checkpoint(value: str | Path) -> Path:
    """A local path for `value`: itself, or the cached file a spec downloads (weights/download.py,
    hub.py).

    Raises:
        DownloadError, HubError: the spec's file cannot be had (one line naming the URL or repo).
        CheckpointError: a shipped release that is not trained yet (its train.sh makes it).
    """
    if not is_spec(value):
        return Path(value)
    if str(value) in SHIPPED:
        release = shipped_release(str(value))
        if not release.is_file():
            raise CheckpointError(
                f"the release {value} is not trained yet ({release} is missing): run "
                f"bash {release.parent.relative_to(RELEASES_DIR.parent)}/train.sh, or pass "
                "another checkpoint"
            )
        return release
    if str(value) == ADAIN_RELEASE:
        from weights.download import adain_release  # downloads load only when asked for

        return adain_release()
    from weights.hub import hub_checkpoint

    return hub_checkpoint(str(value))
