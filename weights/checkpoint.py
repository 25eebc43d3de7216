"""Weight files of this repo: their names, what a path points to, their metadata, the one error.

Names: a run folder's release file is RELEASE_FILE; a training step checkpoint folder holds its
weights in the same format as STEP_WEIGHTS (a different name, so no file called model.safetensors is
ever a resume-only file). Every loader takes either file or the folder that holds one: local paths
only. A release name or download spec (SPECS_HELP) is turned into a local file once, at the entry
point, by weights/sources.py; its names live here so the loaders' errors can list them.

The rest of a weights file's life has a file each: weights/release.py writes one, weights/load.py
rebuilds a network from one (or from a plain .pth state dict), weights/foreign.py matches other
programs' state dicts onto this repo's names, weights/plugin_meta.py records and checks the plugins
a file's names come from. This file is what all of them share; it imports none of them.
"""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open

RELEASE_FILE = "model.safetensors"  # in a run folder: what infer.py and eval read
STEP_WEIGHTS = "weights.safetensors"  # in a step checkpoint folder (training/checkpoints.py)
ONNX_META = "onnx_model.json"  # an ONNX export folder's description (weights/onnx_export.py)
# loss networks (ours, and other programs' full-model dicts) and our CCPL heads (training/ccpl.py):
# never needed for inference, so a file may carry them (a step checkpoint's random loss network and
# heads) and every loader skips them
IGNORED_PREFIXES = ("loss_net.", "vgg_loss_net.", "vgg_loss.", "ccpl.")

# checkpoint specs that name no local path (weights/sources.py turns them into local files)
ADAIN_RELEASE = "adain-release"
HUB_PREFIX = "hf:"
# releases trained by this repo and stored in it: name -> releases/<name>/model.safetensors (each
# folder holds the model card and the script that trained it, train.sh). hed-adain: VGG16-HED +
# mirror decoder; hed-student: the small network distilled from it (models/student.py)
RELEASES_DIR = Path(__file__).resolve().parents[1] / "releases"
SHIPPED = ("hed-adain", "hed-student")
SPECS_HELP = (
    f"{', '.join(SHIPPED)} (trained releases in this repo), {ADAIN_RELEASE} (pytorch-AdaIN's "
    "release, downloaded once) or hf:USER/REPO[@REVISION]"
)


class CheckpointError(RuntimeError):
    """A weights or training-state file that cannot be used: missing, unreadable, or of another
    architecture."""


def weights_file(path: str | Path) -> Path:
    """The weights file the local `path` names: a file itself, a step checkpoint folder's
    STEP_WEIGHTS, or a run's or hub folder's RELEASE_FILE (a spec: weights/sources.py first)."""
    path = Path(path)
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
