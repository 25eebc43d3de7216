"""Stylize every content with every style per method, under StyleID's names, resumably.

Each method runs as infer.py's `stylize` runs it, through inference/ (options checked, then
inference/api.py's `run`: seeded, planned, run), into DIR/<label>/.infer/ with infer's own names and
--skip-existing; each output is then linked to DIR/<label>/ `{content}_stylized_{style}.png`, the
name StyleID's scripts read, so they run on these folders too. DIR/<label>/settings.json records
what decides the pictures (inference options, checkpoint hash, input files); a rerun with the same
settings reuses every output, other settings are refused for that method (one line) instead of
mixing two runs in one folder. Runs are deterministic (seeded from --seed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.harness import PeakMemory
from eval.methods import method_names
from eval.styleid.triples import styleid_name
from inference import api
from inference.checks import check_options
from inference.jobs import plan_jobs
from inference.options import InferError, InferOptions
from media.files import atomic_path, atomic_write
from media.images import ImageReadError
from models.pretrained import PretrainedWeightsError
from weights.checkpoint import CheckpointError, weights_file

STAGING = ".infer"
SETTINGS, TIMING = "settings.json", "timing.json"


@dataclass
class Method:
    label: str
    options: dict  # InferOptions fields besides content / style / out


@dataclass
class RunResult:
    folder: Path | None  # None: the method could not run
    seconds_per_image: float | str = ""
    peak_memory_mib: float | str = ""
    problems: list[str] = field(default_factory=list)


def build_methods(
    checkpoints: list[str], transforms: list[str], optimize: dict | None, common: dict
) -> list[Method]:
    """A method per checkpoint (label: file/folder stem), per checkpoint x --transform
    (`<stem>_<transform>`), and `optimize` (with its own `optimize` options) unless that is None."""
    methods = []
    for path, label in zip(checkpoints, method_names([Path(c) for c in checkpoints])):
        methods.append(Method(label, {**common, "checkpoint": path}))
        methods += [
            Method(f"{label}_{t}", {**common, "checkpoint": path, "transform": t})
            for t in transforms
        ]
    if optimize is not None:
        methods.append(Method("optimize", {**common, **optimize, "method": "optimize"}))
    return methods


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(method: Method, opts: InferOptions, plan) -> dict:
    """What decides the pictures: options (the output folder aside), weights hash, input file
    list."""
    options = {
        k: v for k, v in dataclasses.asdict(opts).items() if k not in ("out", "skip_existing")
    }
    # a local file or folder is hashed; a download spec (adain-release, hf:USER/REPO) is its name
    local = opts.checkpoint and Path(opts.checkpoint).exists()
    checkpoint = weights_file(opts.checkpoint) if local else None
    weights = opts.weights if opts.weights in ("pretrained", "random") else Path(opts.weights)
    return {
        "label": method.label,
        "options": json.loads(json.dumps(options)),
        "checkpoint_sha256": _sha256(checkpoint) if checkpoint else None,
        "weights_sha256": _sha256(weights)
        if isinstance(weights, Path) and weights.is_file()
        else None,
        "contents": [str(p.resolve()) for p in plan.contents],
        "styles": [str(p.resolve()) for p in plan.styles],
    }


def _link(source: Path, target: Path) -> None:
    """target = source's bytes, as a hard link when the file system allows, else an atomic copy."""
    try:
        os.link(source, target)
    except OSError:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)


def run_method(method: Method, content: Path, style: Path, out: Path) -> RunResult:
    """Stylize content x style with one method into out/<label>/; problems as one line each."""
    folder = out / method.label
    opts = InferOptions.from_mapping(
        {
            **method.options,
            "content": (str(content),),
            "style": (str(style),),
            "out": str(folder / STAGING),
            "skip_existing": True,
            "format": "png",
        }
    )
    try:
        plan = plan_jobs(opts)
        settings = _settings(method, opts, plan)
    except (InferError, CheckpointError, PretrainedWeightsError, ValueError) as error:
        return RunResult(None, problems=[f"{method.label}: {error}"])
    recorded = folder / SETTINGS
    if recorded.is_file():
        old = json.loads(recorded.read_text())
        if old != settings:
            keys = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            return RunResult(
                None,
                problems=[
                    f"{method.label}: {folder} holds outputs of other settings "
                    f"({', '.join(keys)} differ, see {recorded}); choose another --out or remove "
                    "that folder"
                ],
            )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(recorded, json.dumps(settings, indent=2) + "\n")
    device = torch.device("cuda" if torch.cuda.is_available() and opts.device != "cpu" else "cpu")
    try:
        with PeakMemory(device) as memory:
            start = time.perf_counter()
            summary = api.run(check_options(opts))  # plugins: loaded once by command.py
            seconds = time.perf_counter() - start
    except (
        InferError,
        CheckpointError,
        PretrainedWeightsError,
        ImageReadError,
        ValueError,
    ) as error:
        return RunResult(None, problems=[f"{method.label}: {error}"])
    result = RunResult(
        folder,
        problems=[f"{method.label}: failed {f['path']}: {f['error']}" for f in summary["failed"]],
    )
    timing_file = folder / TIMING
    if summary[
        "written"
    ]:  # timing of this run's new outputs; a fully reused run reports the stored one
        timing = {
            "seconds_per_image": seconds / len(summary["written"]),
            "peak_memory_mib": memory.peak_mib,
            "peak_memory_method": memory.method,
            "images": len(summary["written"]),
            "device": str(device),
        }
        atomic_write(timing_file, json.dumps(timing, indent=2) + "\n")
    if timing_file.is_file():
        timing = json.loads(timing_file.read_text())
        result.seconds_per_image, result.peak_memory_mib = (
            timing["seconds_per_image"],
            timing["peak_memory_mib"],
        )
    seen: dict[str, Path] = {}
    for i, content_path in enumerate(plan.contents):
        for entry in plan.entries:
            staged = plan.output_path(i, entry, opts.alpha[0])
            name = styleid_name(content_path, plan.styles[entry.styles[0]])
            if name in seen:
                result.problems.append(
                    f"{method.label}: {content_path} and {seen[name]} give the same StyleID "
                    f"name {name}; rename one (StyleID's folders are flat)"
                )
                continue
            seen[name] = content_path
            if staged.is_file() and not (folder / name).exists():
                _link(staged, folder / name)
    return result
