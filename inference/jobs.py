"""What an inference run will do: input files (files, folders, globs), output names, masks, checks.

Output names: `<content>__<style>[__<tags>].<fmt>`. A mix of all styles is
`<content>__mix-<s1>-<s2>` with `__w<w1>-<w2>` (the weights as given), a masked run
`<content>__mask-<s1>-<s2>__m<mask stem>`. Tags name what else changes the picture: `opt-<hash>` for
the optimization (a short hash of its settings: steps, weights, losses, optimizer, scales, init,
seed, feature net), `lum` / `cov` for colour preservation, `a<alpha>` when several alphas are given
or the one alpha is not 1. Names keep Unicode letters, digits and `._-` (other characters become
`_`); inputs whose names would collide get their extension, then their parent folders, then a short
hash of their path appended, the same in any input order. Every name is checked before the model
loads: never an input file, and never an existing file without --overwrite (or --skip-existing,
which keeps it).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from inference.options import InferError, InferOptions
from media.discover import Found, expand
from media.files import safe_filename
from media.images import IMAGE_EXTENSIONS, read_image
from media.video import VIDEO_EXTENSIONS, is_video_file


@dataclass
class Entry:
    """One column of the content x style product: a single style, a mix of all, or all under a
    mask."""

    name: str
    styles: list[int]  # indices into Plan.styles


@dataclass
class Plan:
    contents: list[Path]
    content_names: list[str]
    styles: list[Path]
    entries: list[Entry]
    alphas: list[float]
    out: Path
    fmt: str
    tags: str = ""  # "__opt-<hash>", "__lum", "__cov" joined
    mask: Path | None = None
    inputs: set[Path] = field(default_factory=set)
    skipped_inputs: list[tuple[Path, str]] = field(default_factory=list)
    grid: Path | None = None
    frames: bool = False  # video contents: also a folder of PNG frames per output (--frames)
    clips: set[int] = field(default_factory=set)  # the contents that are video clips (by name)

    @property
    def total_pairs(self) -> int:
        return len(self.contents) * len(self.entries)

    def output_path(self, content: int, entry: Entry, alpha: float) -> Path:
        suffix = f"__a{alpha:g}" if len(self.alphas) > 1 or alpha != 1.0 else ""
        fmt = "mp4" if content in self.clips else self.fmt
        return self.out / f"{self.content_names[content]}__{entry.name}{self.tags}{suffix}.{fmt}"

    def frames_dir(self, content: int, entry: Entry, alpha: float) -> Path:
        """--frames: the PNG frames of a video output go to `<output stem>_frames/`."""
        path = self.output_path(content, entry, alpha)
        return path.with_name(f"{path.stem}_frames")

    def outputs(self) -> list[Path]:
        paths = [
            self.output_path(i, e, a)
            for i in range(len(self.contents))
            for e in self.entries
            for a in self.alphas
        ]
        if self.frames:
            paths += [
                self.frames_dir(i, e, a)
                for i in range(len(self.contents))
                for e in self.entries
                for a in self.alphas
                if i in self.clips
            ]
        return paths + ([self.grid] if self.grid else [])

    def refuses(self, path: Path) -> str | None:
        """Why `path` must not be written (it is an input), or None."""
        return (
            f"refusing to write {path} over an input file: choose another --out"
            if (path.resolve() in self.inputs)
            else None
        )


def expand_inputs(values: list[str], what: str, videos: bool = False) -> Found:
    """Files, folders (recursive) and glob patterns -> the image (and with `videos`, video) files,
    once each, and what was skipped."""
    found = Found(videos)
    for value in values:
        try:
            part = expand(value, videos)
        except FileNotFoundError:
            raise InferError(f"{what} path {value} does not exist") from None
        if not part.files:
            known = IMAGE_EXTENSIONS | (VIDEO_EXTENSIONS if videos else set())
            raise InferError(
                f"{what} {value} holds no {'image or video' if videos else 'image'} files "
                f"({', '.join(sorted(known))})"
            )
        found.extend(part)
    return found


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:6]


def unique_names(paths: list[Path]) -> list[str]:
    """Sanitized stems, unique (case-insensitively) whatever the input order.

    A name shared by several files gets the extension appended, then the parent folders prefixed,
    then a hash of the path: each step only for the names still shared.
    """

    def stem(p: Path, level: int) -> str:
        if level == 0:
            return safe_filename(p.stem, "image")
        if level == 1:
            return safe_filename(f"{p.stem}-{p.suffix.lstrip('.')}", "image")
        if level == 2:
            return safe_filename(
                "_".join([*p.parent.parts[-2:], p.stem, p.suffix.lstrip(".")]), "image"
            )
        return f"{stem(p, 2)}-{_short_hash(str(p.resolve()))}"

    levels = [0] * len(paths)
    while True:
        names = [stem(p, lv) for p, lv in zip(paths, levels)]
        lowered = [n.lower() for n in names]
        shared = [i for i, n in enumerate(lowered) if lowered.count(n) > 1 and levels[i] < 3]
        if not shared:
            return names
        for i in shared:
            levels[i] += 1


def load_mask(path: Path, regions: int) -> torch.Tensor:
    """Label image -> (N, H, W) one-hot region masks; region k = k-th distinct color in sorted (R,
    G, B) order.

    Grey label maps (0, 1, 2 ...) work the same: their values become grey colors, sorted by value.
    """
    pixels = np.asarray(read_image(path))  # (H, W, 3) uint8; ImageReadError names the file
    colors, labels = np.unique(pixels.reshape(-1, 3), axis=0, return_inverse=True)
    if len(colors) != regions:
        raise InferError(
            f"mask {path} has {len(colors)} distinct colors but {regions} styles were given; a "
            "mask needs exactly one color per style (save masks as PNG: JPEG noise adds colors)"
        )
    labels = torch.from_numpy(labels.reshape(pixels.shape[:2]))
    return torch.stack([(labels == k).float() for k in range(regions)])


def _tags(opts: InferOptions) -> str:
    tags = []
    if opts.resolved_method == "optimize":
        knobs = {k: v for k, v in dataclasses.asdict(opts).items() if k in _OPTIMIZE_KNOBS}
        tags.append(f"opt-{_short_hash(repr(sorted(knobs.items())))}")
    if opts.transform:
        tags.append(opts.transform)
    if opts.preserve_color != "none":
        tags.append({"luminance": "lum", "covariance": "cov"}[opts.preserve_color])
    return "".join(f"__{t}" for t in tags)


# options that do not change the picture, left out of the settings an output records
_NOT_RECORDED = (
    "content",
    "style",
    "out",
    "grid",
    "skip_existing",
    "overwrite",
    "batch_size",
    "save_style",
    "format",
    "alpha",
)


def output_settings(opts: InferOptions, content: Path, styles: list[Path], alpha: float) -> dict:
    """What made one output, stored in the file (media.images.save_image `settings`), so
    `opt-<hash>` and every other name can be traced back to the exact options:
    `media.images.read_settings(path)` returns it."""
    knobs = {k: v for k, v in dataclasses.asdict(opts).items() if k not in _NOT_RECORDED}
    return {
        "program": "infer.py",
        "method": opts.resolved_method,
        "content": str(content),
        "style": [str(p) for p in styles],
        "alpha": alpha,
        **knobs,
    }


_OPTIMIZE_KNOBS = (
    "optimizer",
    "steps",
    "lr",
    "init",
    "content_weight",
    "style_weight",
    "tv_weight",
    "style_loss",
    "feature_net",
    "scales",
    "seed",
    "weights",
)


def check_out(out: Path) -> None:
    """--out must be a folder: refuse an existing file, or a path that looks like an image file
    name."""
    if out.exists() and not out.is_dir():
        raise InferError(f"--out {out} is an existing file; give a folder for the outputs")
    if not out.exists() and out.suffix.lower() in IMAGE_EXTENSIONS:
        raise InferError(
            f"--out {out} looks like a file name; give a folder (outputs are named per pair)"
        )


def plan_jobs(args: InferOptions) -> Plan:
    """Validate the options and expand the inputs into a Plan; raises InferError with one line."""
    args.validate()
    out = Path(args.out)
    check_out(out)
    contents = expand_inputs(list(args.content), "content", videos=True)
    styles = expand_inputs([args.style_domain] if args.style_domain else list(args.style), "style")
    if video := next((p for p in styles.files if is_video_file(p)), None):
        raise InferError(
            f"style {video} is a video; styles are images: pass one of its frames saved as PNG"
        )
    style_names = unique_names(styles.files)
    # every image of the folder pooled into one style, style 0 once the run pooled it
    if args.style_domain:
        entries = [
            Entry(f"domain-{safe_filename(Path(args.style_domain).resolve().name, 'styles')}", [0])
        ]
    elif args.mask or args.style_weights:
        if args.style_weights and len(args.style_weights) != len(styles.files):
            raise InferError(
                f"--style-weights has {len(args.style_weights)} values for {len(styles.files)} "
                "style images"
            )
        name = ("mask-" if args.mask else "mix-") + "-".join(style_names)
        name += (
            f"__m{safe_filename(Path(args.mask).stem, 'mask')}"
            if args.mask
            else "__w" + "-".join(f"{w:g}" for w in args.style_weights)
        )
        entries = [Entry(name, list(range(len(styles.files))))]
    else:
        entries = [Entry(name, [k]) for k, name in enumerate(style_names)]
    mask = Path(args.mask) if args.mask else None
    if mask is not None and not mask.is_file():
        raise InferError(f"mask {mask} does not exist")
    plan = Plan(
        contents.files,
        unique_names(contents.files),
        styles.files,
        entries,
        list(args.alpha),
        out,
        "jpg" if args.format == "jpg" else "png",
        _tags(args),
        mask,
        skipped_inputs=contents.skipped + styles.skipped,
        grid=out / "grid.png" if args.grid else None,
        frames=args.frames,
        clips={i for i, p in enumerate(contents.files) if is_video_file(p)},
    )
    plan.inputs = {p.resolve() for p in [*contents.files, *styles.files, *([mask] if mask else [])]}
    if args.save_style and (reason := plan.refuses(Path(args.save_style))):
        raise InferError(reason)
    for target in plan.outputs():
        if reason := plan.refuses(target):
            raise InferError(reason)
    existing = [p for p in plan.outputs() if p.exists()]
    if existing and not (args.overwrite or args.skip_existing):
        raise InferError(
            f"{len(existing)} output(s) already exist in {out} (e.g. {existing[0].name}): pass "
            "--overwrite to replace them or --skip-existing to keep them"
        )
    return plan
