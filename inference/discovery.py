"""Finding checkpoints for a model picker: release files and training step folders under given paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from weights.checkpoint import ONNX_META, STEP_WEIGHTS
from weights.resolve import is_spec


def discover_models(paths: Sequence[str | Path]) -> list[str]:
    """Every release `*.safetensors` file and training step folder under `paths`, sorted per path.

    A path that names a file (existing or not) is listed as given, so a missing or broken checkpoint shows
    its load error in the page instead of vanishing from the picker. Hidden folders (`.tmp_step_*`: a
    checkpoint being written) are skipped; a step folder is listed as the folder, not its weights file.
    """
    found: list[str] = []
    for root in map(Path, paths):
        if not root.is_dir():
            # a missing folder (the default runs/) lists nothing; adain-release, hf: are downloads
            if root.exists() or root.suffix or is_spec(root):
                found.append(str(root))
            continue
        if (root / ONNX_META).is_file():  # an ONNX export (export.py --out): onnxruntime runs it
            found.append(str(root))
            continue
        for path in sorted(root.rglob("*")):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            if path.is_dir() and (path / ONNX_META).is_file():
                found.append(str(path))
            elif path.is_dir() and path.name.startswith("step_") and (path / STEP_WEIGHTS).is_file():
                found.append(str(path))
            elif path.suffix == ".safetensors" and not path.parent.name.startswith("step_"):
                found.append(str(path))
    return list(dict.fromkeys(found))
