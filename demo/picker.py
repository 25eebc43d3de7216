"""Finding checkpoints for a model picker: release files and training step folders under some paths.

A picker shows short labels, never a server path (the web demo is served to strangers): each
checkpoint is named relative to the folder given on the command line (`runs/a/model.safetensors`), a
file given directly by its name, and the server keeps the label -> path map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from weights.checkpoint import ONNX_META, RELEASE_FILE, STEP_WEIGHTS
from weights.sources import is_spec


def discover_models(paths: Sequence[str | Path]) -> dict[str, str]:
    """{label: path} of every release `*.safetensors` file and training step folder under `paths`.

    A path that names a file (existing or not) is listed as given, so a missing or broken checkpoint
    shows its load error in the page instead of vanishing from the picker. Hidden folders
    (`.tmp_step_*`: a checkpoint being written) are skipped; a step folder is listed as the folder,
    not its weights file. Labels are POSIX paths relative to the given folder's parent (a file: its
    name, and a run's release its run's too: `quickstart/model.safetensors`); a label already taken
    gets " (2)", " (3)" ... appended. Sorted per path.
    """
    found: dict[str, str] = {}

    def add(label: str, path: Path) -> None:
        if str(path) in found.values():
            return
        unique, k = label, 1
        while unique in found:
            k += 1
            unique = f"{label} ({k})"
        found[unique] = str(path)

    for root in map(Path, paths):
        if not root.is_dir():
            # a missing folder (the default runs/) lists nothing; adain-release and hf: download
            if root.exists() or root.suffix or is_spec(root):
                add(str(root) if is_spec(root) else _file_label(root), root)
            continue
        if (root / ONNX_META).is_file():  # an ONNX export (export.py --out): onnxruntime runs it
            add(root.resolve().name, root)
            continue
        base = root.resolve().name  # "runs" also for "runs/" and "."-relative spellings
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            step = path.is_dir() and path.name.startswith("step_")
            release = path.suffix == ".safetensors" and not path.parent.name.startswith("step_")
            onnx = path.is_dir() and (path / ONNX_META).is_file()
            if (step and (path / STEP_WEIGHTS).is_file()) or release or onnx:
                add("/".join(filter(None, (base, rel.as_posix()))), path)
    return found


def _file_label(path: Path) -> str:
    """A file given by path: its name; every run's release has the same name, so its run's too."""
    if path.name == RELEASE_FILE and path.resolve().parent.name:
        return f"{path.resolve().parent.name}/{path.name}"
    return path.name


def newest_first(models: Mapping[str, str]) -> list[str]:
    """Labels of existing release files, newest first, then of the step folders, newest first."""

    def mtime(label: str) -> float:
        return Path(models[label]).stat().st_mtime

    existing = [k for k, p in models.items() if Path(p).exists()]
    release = sorted((k for k in existing if not Path(models[k]).is_dir()), key=mtime, reverse=True)
    steps = sorted((k for k in existing if Path(models[k]).is_dir()), key=mtime, reverse=True)
    return release + steps + [k for k, p in models.items() if is_spec(p)]  # downloads: last
