"""Turn raw datasets into prepared, verified folders with a manifest of what was kept and dropped.

    python -m data_prep.prepare --avatar-anime data/AvatarAnime --out data/avatar --resize 512
    python -m data_prep.prepare --content data/coco --style data/wikiart --out data/coco_wikiart

Output (the project contract): `OUT/content/{train,val[,test]}/`, `OUT/style/{train,val[,test]}/`
and `OUT/manifest.json`. Every image is fully decoded here, so training never meets a broken file;
optional pre-resizing keeps JPEG decoding of large originals from starving the GPU. Writes are
atomic and re-running is idempotent: unchanged sources whose outputs are intact are not touched.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from configs.cli import ArgumentParser
from data_prep.manifest import (
    FORMAT,
    load_manifest,
    print_summary,
    summarize,
    write_if_changed,
    write_manifest,
)
from data_prep.sources import (
    SIDES,
    SPLITS,
    Source,
    _files,
    collect_avatar_anime,
    collect_folders,
    plan_outputs,
)
from media.files import TEMP_SUFFIX
from media.images import ImageReadError, is_image_file, read_image, resize_image
from media.progress import tqdm


def process(
    s: Source,
    output: str | None,
    out: Path,
    resize: int | None,
    min_size: int,
    previous: dict | None,
) -> dict:
    """Verify one source and write its output; returns its manifest entry."""
    stat = s.path.lstat() if s.skip else s.path.stat()
    entry = {
        "side": s.side,
        "split": s.split,
        "source": s.source,
        "src_bytes": stat.st_size,
        "src_mtime_ns": stat.st_mtime_ns,
    }
    if s.skip:
        return {**entry, "status": "dropped", "reason": s.skip}
    if output is None:
        return {**entry, "status": "dropped", "reason": "not an image extension"}
    if previous is not None and all(previous.get(k) == entry[k] for k in entry):
        # Unchanged source, same options: reuse the verdict without decoding, if the output is
        # intact.
        if previous["status"] == "dropped" or (
            previous.get("output") == output
            and (out / output).is_file()
            and (out / output).stat().st_size == previous["bytes"]
        ):
            return previous
    try:
        img = read_image(s.path)
    except ImageReadError as e:
        return {**entry, "status": "dropped", "reason": f"unreadable: {e.reason}"}
    w, h = img.size
    if min(w, h) < min_size:
        return {**entry, "status": "dropped", "reason": f"too small: {w}x{h} < {min_size}"}
    src_suffix = ".jpg" if s.path.suffix.lower() == ".jpeg" else s.path.suffix.lower()
    resized = resize_image(img, size=resize) if resize is not None else img
    # never with a validated --resize >= --min-size; checked all the same
    if min(resized.size) < min_size:
        return {
            **entry,
            "status": "dropped",
            "reason": f"too small after resizing: {resized.width}x{resized.height}",
        }
    if resized is img and Path(output).suffix == src_suffix:
        data = s.path.read_bytes()  # readable and small enough: keep the original bytes
    else:
        buf = io.BytesIO()
        if output.endswith(".png"):
            resized.save(buf, format="PNG")
        else:
            resized.save(buf, format="JPEG", quality=95)
        data = buf.getvalue()
    write_if_changed(out / output, data)
    return {
        **entry,
        "status": "kept",
        "output": output,
        "width": resized.width,
        "height": resized.height,
        "bytes": len(data),
    }


def _remove_leftovers(out: Path, kept: set[str], had_manifest: bool) -> int:
    """Delete temp files of interrupted runs and, in a folder we prepared before, stale outputs."""
    removed = 0
    for side in SIDES:
        if not (out / side).is_dir():
            continue
        for p, _ in _files(out / side):
            rel = p.relative_to(out).as_posix()
            stale = had_manifest and is_image_file(p) and rel not in kept
            if p.name.endswith(TEMP_SUFFIX) or stale:
                p.unlink()
                removed += stale
    return removed


def prepare(
    out: str | os.PathLike,
    *,
    avatar_anime: str | os.PathLike | None = None,
    content: str | os.PathLike | None = None,
    style: str | os.PathLike | None = None,
    val_fraction: float = 0.05,
    test_fraction: float = 0.0,
    resize: int | None = None,
    min_size: int = 64,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Prepare a dataset into OUT; returns the manifest (also written to OUT/manifest.json).

    Args:
        out: Output folder.
        avatar_anime: Root of the AvatarAnime layout (CelebA -> content, AnimeFace -> style, splits
            kept).
        content: Plain content folder (with `style`), split by a hash of the relative path.
        style: Plain style folder.
        val_fraction: Fraction of plain-folder files that go to val.
        test_fraction: Fraction of plain-folder files that go to test (no test split when 0).
        resize: Pre-resize so the short side is at most this (never upscales); None copies
            originals.
        min_size: Drop images whose short side is smaller.
        workers: Decoding threads (Pillow releases the GIL while decoding); default: CPU count, max
            8.
        progress: Show a tqdm progress bar.
    """
    out = Path(out).resolve()
    if min_size < 1 or (resize is not None and resize < min_size):
        raise ValueError(
            f"--resize {resize} / --min-size {min_size}: need --min-size >= 1 and --resize >= "
            "--min-size (a smaller resize would shrink every kept image below the minimum)"
        )
    plain = content is not None or style is not None
    if (avatar_anime is not None) == plain or (plain and (content is None or style is None)):
        raise ValueError("give either avatar_anime, or both content and style")
    if avatar_anime is not None:
        inputs = {"avatar_anime": str(Path(avatar_anime).resolve())}
        sources = collect_avatar_anime(Path(inputs["avatar_anime"]))
    else:
        inputs = {"content": str(Path(content).resolve()), "style": str(Path(style).resolve())}
        sources = collect_folders(
            Path(inputs["content"]), Path(inputs["style"]), val_fraction, test_fraction
        )
    for root in inputs.values():
        if out.is_relative_to(root) or Path(root).is_relative_to(out):
            raise ValueError(
                f"output folder {out} and input folder {root} must not contain each other"
            )
    options = {
        "inputs": inputs,
        "resize": resize,
        "min_size": min_size,
        "val_fraction": None if avatar_anime else val_fraction,
        "test_fraction": None if avatar_anime else test_fraction,
    }
    old = load_manifest(out)
    previous = {}
    if old is not None and old.get("format") == FORMAT and old.get("options") == options:
        previous = {(f["side"], f["source"]): f for f in old["files"]}

    outputs = plan_outputs(sources, resize)
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        jobs = pool.map(
            lambda so: process(
                so[0], so[1], out, resize, min_size, previous.get((so[0].side, so[0].source))
            ),
            zip(sources, outputs),
        )
        files = list(
            tqdm(jobs, total=len(sources), desc="prepare", unit="img", disable=not progress)
        )

    splits = {"train", "val"} | {s.split for s in sources}
    for side in SIDES:
        for split in splits:
            (out / side / split).mkdir(parents=True, exist_ok=True)
    kept = {f["output"] for f in files if f["status"] == "kept"}
    stale = _remove_leftovers(out, kept, had_manifest=old is not None)
    files.sort(key=lambda f: (SIDES.index(f["side"]), SPLITS.index(f["split"]), f["source"]))
    manifest = {"format": FORMAT, "options": options, "summary": summarize(files), "files": files}
    write_manifest(out, manifest)
    if stale:
        print(f"removed {stale} stale outputs of an earlier run with other inputs or options")
    return manifest


def main(argv: list[str] | None = None) -> dict:
    """Command-line entry point: `python -m data_prep.prepare --help`."""
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--avatar-anime", type=Path, help="AvatarAnime root: {CelebA,AnimeFace}/{train,val,test}/"
    )
    p.add_argument("--content", type=Path, help="plain content folder (with --style), e.g. COCO")
    p.add_argument("--style", type=Path, help="plain style folder (with --content), e.g. WikiArt")
    p.add_argument("--out", type=Path, required=True, help="prepared output folder")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="plain folders: share for val (the training's validation grid reads val)",
    )
    p.add_argument("--test-fraction", type=float, default=0.0, help="plain folders: share for test")
    p.add_argument(
        "--resize", type=int, help="pre-resize short side to N (never upscales); default: copy"
    )
    p.add_argument(
        "--min-size", type=int, default=64, help="drop images whose short side is below this"
    )
    p.add_argument("--workers", type=int, help="decoding threads (default: CPU count, at most 8)")
    args = p.parse_args(argv)
    if (args.avatar_anime is None) == (args.content is None or args.style is None) or (
        args.avatar_anime is not None and (args.content or args.style)
    ):
        p.error("give either --avatar-anime ROOT, or --content DIR --style DIR")
    if (
        min(args.val_fraction, args.test_fraction) < 0
        or args.val_fraction + args.test_fraction >= 1
    ):
        p.error("--val-fraction and --test-fraction must be >= 0 and sum to less than 1")
    if args.min_size < 1 or (args.resize is not None and args.resize < args.min_size):
        p.error(
            f"--resize must be >= --min-size ({args.min_size}) and --min-size >= 1, "
            f"got --resize {args.resize}"
        )
    try:
        manifest = prepare(
            args.out,
            avatar_anime=args.avatar_anime,
            content=args.content,
            style=args.style,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            resize=args.resize,
            min_size=args.min_size,
            workers=args.workers,
        )
    except (
        OSError,
        ValueError,
    ) as err:  # a missing input folder, an unwritable --out: one line, exit 2
        p.exit(2, f"error: {err}\n")
    print_summary(manifest, args.out)
    return manifest


if __name__ == "__main__":
    main()
