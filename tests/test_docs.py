"""README.md and docs/*.md stay true: the README short, every relative link a file, every printed
command a script or module that exists, its flags accepted by its entry point's own parser, and
each one run by a test as printed or named below with the reason none can.

A printed command is a line of a fenced shell block or an indented block that starts like `python`,
`accelerate launch` or `bash` (tests/doc_blocks.py). Run as printed by other tests:
- `ci:install`, `ci:test` (README): .ci/run, in a fresh virtual environment;
- every other printed command that neither the next three items nor the list below name, in one
  `git clone`, in the order a reader meets them: tests/test_readme_clean_clone.py (its docstring
  says which documented flags shrink sizes and steps, and the reader's files it puts where the
  commands name photo.jpg, photos/, clip.mp4, model.safetensors ...);
- `plugin:file`, `plugin:commands` (docs/plugins.md), all of it: tests/test_readme_plugin.py;
- `onnx-example` (docs/export.md): tests/test_export_onnx.py, in a process without torch;
- the two launches of "More than one machine" (docs/training.md): tests/test_train_preempt.py
  compares them with the commands scripts/slurm/train.sbatch builds, which it runs.

Not run by a test, and why (each entry is the start of the printed commands it stands for):
- `python app.py`: the demo serves until it is stopped; tests/test_app*.py start it on these flags.
- `python -m data_prep.prepare`: reads AvatarAnime, COCO and WikiArt, datasets downloaded by hand.
- `accelerate launch --config_file configs/accelerate/1gpu.yaml`: a GPU, hours of training.
- `accelerate launch --config_file configs/accelerate/2xT4.yaml`: two GPUs, hours of training.
- `accelerate launch --multi_gpu`: two machines with GPUs.
- `accelerate launch ... train.py`: the launch flags left out are the GPU launch above.
- `python infer.py --checkpoint runs/vit_adain_meanstd/`: the GPU run above on the downloaded faces.
- `python infer.py --method optimize`: ImageNet VGG19 features (a download), 100-200 steps.
- `python -m eval.evaluate --checkpoint runs/a/`: ImageNet VGG19 and Inception (downloads).
- `python -m eval.evaluate --checkpoint runs/results/`: runs trained elsewhere, on GPUs.
- `python -m eval.peer --pairs data/offline/val_pairs.json --checkpoint hed-adain`: 20 L-BFGS steps
  per held-out pair on HED's VGG16 beside the peer (a minute even at 48 px); quickstart.sh runs the
  same eval.peer on the same pairs, without the optimization's rows.
- `python -m eval.peer --pairs data/offline/val_pairs.json --checkpoint runs/results/`: the five
  300-step variants, two seeds each, eval/make_results.sh trains on HED's VGG16 (hours on a CPU).
- `python -m eval.runs runs/results`: those runs.
- `python -m bench --out reports/bench.json`: the default benchmark table (about 10 minutes).
- `python -m bench student --threads 1`: minutes (the teacher at 512 px, 4096 px passes, an ONNX
  export); tests/test_bench_student.py runs its --quick form on a random student.
- `python -m bench gpu`: a GPU (tests/test_bench_gpu.py runs its --quick --device cpu form).
- `python -m bench figures`: minutes (512 px ViT-B passes, a 4096 px tiled image).
- `python -m eval.styleid styleid --content StyleID/`: StyleID's images (a download), GPU-sized.
- `python -m eval.styleid metrics`: another method's outputs on StyleID's images (a download).
- `python -m eval.variants --out reports/variants`: eight trainings and their evaluation (minutes
  offline; --full: GPUs, ImageNet weights, hours); tests/test_readme_plugin.py runs it on two.
- `python -m eval.styleid styleid --content data/offline/`: exits 1 offline by design (FID's
  Inception and LPIPS's AlexNet are downloads; eval/make_results.sh accepts it); the README's
  protocol line runs the same pipeline on random metric networks.
- `python -m bench.video_flicker --checkpoint hed-adain`: minutes (512 px frames in fp32 and
  emulated bf16, six optimizations of a clip).
- `python -m eval.video --original clip.mp4`: its style and LPIPS terms download ImageNet VGG19 and
  AlexNet (780 MB) where a network answers; tests/test_video_temporal.py runs eval.video offline.
- `python infer.py --config configs/adain_original.yaml`: pytorch-AdaIN's release files (a
  download); tests/test_foreign_adain.py runs these flags on files it builds in their layout.
- `python infer.py --config configs/vit_notebook.yaml`: a notebook's checkpoint (the user's file);
  tests/test_foreign_notebook.py builds one.
- `python -m weights.convert`: the same two files (tests/test_foreign_*.py convert built ones).
- `python infer.py --checkpoint adain.safetensors`: the converted release file (from a download).
- `python train.py --config configs/adain_original.yaml`: that release and AvatarAnime (downloads).
- `python infer.py --checkpoint adain-release`: downloads pytorch-AdaIN's release
  (tests/test_weights_download.py serves it from a local server).
- `python infer.py --checkpoint hf:`: a Hugging Face hub repo (tests/test_hub.py fakes the hub).
- `HF_HUB_OFFLINE=1 python -m eval.evaluate --checkpoint hf:`: that repo in the hub's cache.

These lines are checked here only: their script or module exists and, for the entry points in
ENTRY_POINTS and infer.py, their argv parses with the parser that entry point builds (an
argparse.ArgumentParser, configs/cli.py's or a plain one), stopped right after parsing.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re

import pytest
from doc_blocks import (
    REPO,
    argv_of,
    doc_files,
    not_run,
    printed,
    printed_commands,
    why_not_run,
    without_fences,
)

# entry point -> the module whose main(argv) parses argv first and does nothing before; infer.py's
# main imports --plugins files before parsing, so its parser is taken from where main builds it
ENTRY_POINTS = {
    "train.py": "train",
    "export.py": "export",
    "app.py": "app",
    "bench": "bench.__main__",
    "bench.video_flicker": "bench.video_flicker",
    "eval.styleid": "eval.styleid.command",
    "eval.runs": "eval.runs.compare",
    **{
        f"{package}.{name}": f"{package}.{name}"
        for package, names in {
            "eval": ("evaluate", "variants", "peer", "video"),
            "data_prep": ("prepare", "sample", "sample_clip", "offline"),
            "weights": ("convert",),
        }.items()
        for name in names
    },
}


class _Parsed(BaseException):
    """Raised by the patched parser once argv is parsed: main() stops before doing anything."""


def entry(argv: list[str]) -> tuple[str, list[str]] | None:
    """(script or module, its argv) of a command's argv, or None when it runs neither."""
    if argv[0] in ("python", "python3") and len(argv) > 2 and argv[1] == "-m":
        return argv[2], argv[3:]
    if argv[0] in ("python", "python3") and len(argv) > 1 and argv[1].endswith(".py"):
        return argv[1], argv[2:]
    if argv[:2] == ["accelerate", "launch"]:
        script = next((i for i, t in enumerate(argv) if t.endswith(".py")), None)
        assert script is not None, f"an accelerate launch without a script: {argv}"
        return argv[script], argv[script + 1 :]
    if argv[0] == "bash" and len(argv) > 1:
        return argv[1], argv[2:]
    return None


def entries() -> list[tuple[str, str, list[str]]]:
    """(file it is printed in, script or module, argv) of every printed command."""
    found = []
    for path in doc_files():
        for command in printed_commands(path.read_text()):
            for argv in argv_of(command):
                if hit := entry(argv):
                    found.append((path.relative_to(REPO).as_posix(), *hit))
    return found


def exists(target: str) -> bool:
    if target.endswith((".py", ".sh")):
        return (REPO / target).is_file()
    path = REPO / target.replace(".", "/")
    if (REPO / target.split(".")[0]).is_dir() or path.with_suffix(".py").is_file():
        return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()
    return importlib.util.find_spec(target) is not None  # the standard library's or a package's


def test_the_readme_is_at_most_300_lines():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= 300, f"README.md has {lines} lines (at most 300): move a section to docs/*.md"


def test_every_relative_link_points_to_a_file():
    missing = []
    for path in doc_files():
        for target in re.findall(r"\]\(([^)\s]+)\)", without_fences(path.read_text())):
            file = target.split("#")[0]
            if file and "://" not in file and not file.startswith("mailto:"):
                if not (path.parent / file).exists():
                    missing.append(f"{path.relative_to(REPO)}: {target}")
    assert not missing, "links to files that do not exist: " + "; ".join(missing)


def test_every_printed_command_names_an_existing_script_or_module():
    found = entries()
    assert len(found) > 50 and {t for _, t, _ in found} >= {"train.py", "infer.py", "app.py"}
    missing = [f"{doc}: {target}" for doc, target, _ in found if not exists(target)]
    assert not missing, "printed commands of scripts or modules that do not exist: " + "; ".join(
        missing
    )


def parse_only(target: str, argv: list[str], monkeypatch) -> None:
    """Parse `argv` as `target`'s main would, and stop there (SystemExit 2 on a bad flag)."""
    real = argparse.ArgumentParser.parse_known_args  # configs/cli.py's parser and plain ones
    depth = 0

    def parse_known_args(self, args=None, namespace=None):
        nonlocal depth
        depth += 1  # subcommands parse through a nested call; stop at the outermost one
        try:
            namespace, extras = real(self, args, namespace)
        finally:
            depth -= 1
        if depth == 0:
            if extras:
                self.error(f"unrecognized arguments: {' '.join(extras)}")
            raise _Parsed
        return namespace, extras

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", parse_known_args)
    if target == "infer.py":
        from inference.flags import build_parser

        main = build_parser().parse_args
    else:
        main = importlib.import_module(ENTRY_POINTS[target]).main
    with pytest.raises(_Parsed):
        main(argv)


def test_printed_flags_parse(monkeypatch, capsys):
    parsed, failed = set(), []
    for doc, target, argv in entries():
        if target not in ENTRY_POINTS and target != "infer.py":
            continue
        try:
            parse_only(target, [t for t in argv if t != "..."], monkeypatch)
        except SystemExit:
            error = capsys.readouterr().err.strip()
            # `...` stands for flags the line leaves out, a required one among them
            if not ("..." in argv and "arguments are required" in error):
                failed.append(f"{doc}: {target} {' '.join(argv)}: {error}")
        except pytest.fail.Exception:
            failed.append(f"{doc}: {target} {' '.join(argv)}: main() returned without parsing")
        parsed.add(target)
        monkeypatch.undo()
    assert not failed, "printed commands whose flags do not parse:\n" + "\n".join(failed)
    assert parsed >= {"train.py", "infer.py", "export.py", "app.py", "eval.styleid"}


def test_every_printed_command_is_run_by_a_test_or_listed_above_with_the_reason():
    from test_readme_clean_clone import run_elsewhere, sequence

    shown = [
        (doc.relative_to(REPO).as_posix(), command)
        for doc in doc_files()
        for command in printed(doc.relative_to(REPO).as_posix())
    ]
    stale = [start for start in not_run() if not any(c.startswith(start) for _, c in shown)]
    assert not stale, f"tests/test_docs.py's docstring lists commands no page prints: {stale}"
    # the clean-clone sequence runs every command the list does not name; this guards its filters
    run = {command for command, _ in sequence()} | run_elsewhere()
    neither = [f"{doc}: {c}" for doc, c in shown if c not in run and not why_not_run(c)]
    assert not neither, (
        "printed commands no test runs: run them in tests/test_readme_clean_clone.py's sequence "
        "or list them in tests/test_docs.py's docstring with the reason:\n" + "\n".join(neither)
    )


def test_docs_holds_only_text_and_figures():
    scripts = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").rglob("*.py"))
    assert not scripts, f"scripts under docs/ (measurement scripts belong in bench/): {scripts}"
