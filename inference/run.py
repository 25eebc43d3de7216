"""The inference loop over files: load inputs, stylize through inference/engine.py, write outputs, \
summarize.

Bad files are recorded and skipped; the others are written. Contents of equal size are batched up to
--batch-size; style features are cached per style (per content in covariance mode, where the style
is recolored to each content first).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from inference.engine import Engine, random_weights_warning
from inference.failures import Failure, failure_reason, free_memory
from inference.jobs import Entry, Plan, load_mask, output_settings
from inference.optimize import Callback, step_writer
from inference.options import InferError, InferOptions
from inference.sheet import sheet_rows, thumb, write_sheet
from inference.style_stats import is_stats_file, load_stats, save_stats
from inference.tiling import tiling_line
from inference.video import clip_targets, stylize_clip
from media.images import ImageReadError, load_image, save_image
from media.progress import tqdm
from media.video import VideoReadError
from models.gatys import TemporalPrior

MIN_TILE_STRIDES = 4  # out-of-memory retries stop at tiles of 4 encoder strides (VGG: 32 px)


class Runner:
    """The run's state: options, plan, Engine, styles, masks, summary."""

    def __init__(self, args: InferOptions, plan: Plan):
        self.args, self.plan = args, plan
        self.bar = tqdm(total=0, disable=True)  # run_jobs sets the real one, once all is loaded
        self.summary = {
            "written": [],
            "skipped": [],
            "failed": [],
            "grid": None,
            "out": str(plan.out),
        }
        self.engine = Engine(args)
        self.styles: dict[int, torch.Tensor | tuple] = {}
        size = args.style_size or args.size
        for k, path in enumerate(plan.styles):
            try:
                self.styles[k] = (
                    load_stats(path, self.engine.net)
                    if is_stats_file(path)
                    else load_image(path, size, args.max_size, args.upscale)[None]
                )
            except ImageReadError as err:
                self.fail(path, err.reason)
        if args.style_domain:
            self.pool_domain()
        self.masks = load_mask(plan.mask, len(plan.styles)) if plan.mask else None
        self.grid: dict[tuple[int, Path], torch.Tensor] = {}
        self.warned_mask = False
        self.summary["ignored"] = [{"path": str(p), "reason": r} for p, r in plan.skipped_inputs]

    def pool_domain(self) -> None:
        """--style-domain: every readable style image pooled into one style, saved with
        --save-style."""
        readable = [self.styles[k] for k in sorted(self.styles)]
        if not readable:
            raise InferError(f"--style-domain {self.args.style_domain}: no readable style image")
        pooled = self.engine.pool(readable)
        self.styles = {0: pooled}  # the domain entry's one style (inference/jobs.py)
        if self.args.save_style:
            save_stats(
                self.args.save_style, pooled, self.engine.net, len(readable), self.args.style_domain
            )
            self.summary["style_stats"] = self.args.save_style

    def fail(self, path: Path, reason: str) -> None:
        self.summary["failed"].append({"path": str(path), "error": reason})

    @property
    def optimizes(self) -> bool:
        """The per-image optimization runs: no tiles, and a clip's frames one at a time."""
        return self.engine.method == "optimize"

    def outputs(
        self,
        contents: torch.Tensor,
        entry: Entry,
        prior: TemporalPrior | None = None,
        callbacks: list[Callback] | None = None,
        tile_size: int | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents with `entry`'s styles (and the run's masks) -> a (B, 3, H, W)
        batch per alpha (Engine.stylize); images and clips (inference/video.py) both come here."""
        masks = None if self.masks is None else self.check_mask(contents)
        styles = [self.styles[k] for k in entry.styles]
        return self.engine.stylize(
            contents, styles, self.args, entry.styles, masks, callbacks, prior, tile_size
        )

    def run(self) -> dict:
        pending: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
        for i, path in enumerate(self.plan.contents):
            if i in self.plan.clips:  # a clip streams through its own loop, frame batches included
                stylize_video(self, i, path)
                continue
            try:
                image = load_image(path, self.args.size, self.args.max_size, self.args.upscale)
            except ImageReadError as err:
                self.fail(path, err.reason)
                self.bar.update(len(self.plan.entries))
                continue
            self.say_tiling(path, image)
            batch = pending.setdefault(tuple(image.shape[-2:]), [])
            batch.append((i, image))
            if len(batch) >= self.args.batch_size:
                self.process(pending.pop(tuple(image.shape[-2:])))
        for batch in pending.values():
            self.process(batch)
        if self.args.grid:
            self.write_grid()
        return self.summary

    def process(self, batch: list[tuple[int, torch.Tensor]]) -> None:
        """Stylize a batch of equal-size contents with every entry; a failing batch is retried image
        by image, so one bad image (too small, out of memory) is recorded with its reason and the
        others are written. Out of memory, an image is retried in smaller and smaller tiles
        (`stylize_or_fail`)."""
        for entry in self.plan.entries:
            self.bar.update(len(batch))
            if any(k not in self.styles for k in entry.styles):
                continue  # the unreadable style is already in 'failed'
            todo = self.todo(batch, entry)
            if len(todo) == 1:
                self.stylize_or_fail(todo, entry)
            elif todo and (failure := self.attempt(todo, entry)):
                if failure.oom:
                    self.free(
                        f"out of memory on a batch of {len(todo)} contents: retrying one at a time"
                    )
                for item in todo:
                    self.stylize_or_fail([item], entry)

    def attempt(
        self, batch: list[tuple[int, torch.Tensor]], entry: Entry, tile_size: int | None = None
    ) -> Failure | None:
        """`stylize`; None when it worked, else what failed. Only the reason leaves the handler: the
        exception's traceback holds the failed attempt's tensors (on the GPU), which must be freed
        before any retry."""
        try:
            self.stylize(batch, entry, tile_size)
            return None
        except (RuntimeError, ValueError) as err:
            return Failure(failure_reason(err), isinstance(err, torch.OutOfMemoryError))

    def stylize_or_fail(self, batch: list[tuple[int, torch.Tensor]], entry: Entry) -> None:
        """One content; out of memory, retried in tiles of half its long side (or half the tiles it
        ran in), halved again while memory runs out, down to MIN_TILE_STRIDES encoder strides (the
        decoder's method only: the optimization has no tiled form)."""
        failure = self.attempt(batch, entry)
        (i, image), tried = batch[0], None
        side = max(image.shape[-2:])
        while failure and failure.oom and not self.optimizes:
            engine = self.engine
            tiled = engine.tile_size and side > engine.tile_size
            tile = (tried or (engine.tile_size if tiled else side)) // 2
            if tile < MIN_TILE_STRIDES * engine.net.stride:
                also = f" (also in {tried} px tiles)" if tried else ""
                failure = Failure(
                    f"{failure.reason}{also}; use a smaller --size/--max-size, or --device cpu",
                    True,
                )
                break
            self.free(
                f"out of memory on {self.plan.contents[i].name} ({image.shape[-1]}x"
                f"{image.shape[-2]} px): retrying in {tile} px tiles"
            )
            failure, tried = self.attempt(batch, entry, tile), tile
        if failure:
            self.fail(self.plan.contents[i], failure.reason)

    def say_tiling(self, path: Path, image: torch.Tensor) -> None:
        """One line for a content the decoder will stylize in tiles: how it is cut."""
        if self.optimizes:  # the optimization has no tiled form
            return
        tile = self.engine.tile_size
        if tile and max(image.shape[-2:]) > tile:
            line = tiling_line(self.engine.net, image[None], tile, self.engine.tile_overlap)
            print(f"tiled: {path.name}: {line}", file=sys.stderr)

    def free(self, message: str) -> None:
        """Say what is retried, and give the failed attempt's memory back (CUDA: to the driver)."""
        print(f"WARNING: {message}", file=sys.stderr)
        free_memory(self.engine.device)

    def todo(
        self, batch: list[tuple[int, torch.Tensor]], entry: Entry
    ) -> list[tuple[int, torch.Tensor]]:
        """The contents of `batch` still to compute for `entry` (--skip-existing keeps complete
        ones)."""
        if not self.args.skip_existing:
            return batch
        keep = []
        for i, image in batch:
            paths = [self.plan.output_path(i, entry, a) for a in self.plan.alphas]
            if all(p.is_file() for p in paths):
                self.summary["skipped"] += [str(p) for p in paths]
            else:
                keep.append((i, image))
        return keep

    def stylize(
        self, batch: list[tuple[int, torch.Tensor]], entry: Entry, tile_size: int | None = None
    ) -> None:
        """Stylize and write `batch` with `entry`; `tile_size` replaces --tile-size (OOM retry)."""
        if not batch:
            return
        ids, contents = [i for i, _ in batch], torch.stack([t for _, t in batch])
        callbacks = (
            [
                step_writer(self.plan.output_path(i, entry, 1.0).with_suffix(""), self.plan)
                for i in ids
            ]
            if self.args.save_every and self.optimizes
            else None
        )
        outs = self.outputs(contents, entry, callbacks=callbacks, tile_size=tile_size)
        for alpha, out in zip(self.plan.alphas, outs):
            for b, i in enumerate(ids):
                path = self.plan.output_path(i, entry, alpha)
                styles = [self.plan.styles[k] for k in entry.styles]
                save_image(
                    out[b],
                    path,
                    settings=output_settings(self.args, self.plan.contents[i], styles, alpha),
                )
                self.summary["written"].append(str(path))
                if self.args.grid:
                    self.grid[i, path] = thumb(out[b])

    def check_mask(self, contents: torch.Tensor) -> torch.Tensor:
        """The masks for contents of this size: a different aspect ratio is refused (the regions
        would land elsewhere), a different size with the same aspect is resized (nearest) with a
        warning, once."""
        (mh, mw), (h, w) = self.masks.shape[-2:], contents.shape[-2:]
        if abs(mh / mw - h / w) > 0.01 * h / w:
            raise ValueError(
                f"the mask is {mw}x{mh} px but the content {w}x{h}: a different aspect ratio "
                "would move the regions; make the mask the content's shape"
            )
        if (mh, mw) != (h, w) and not self.warned_mask:
            self.warned_mask = True
            print(
                f"WARNING: the mask ({mw}x{mh}) is resized to the content "
                f"({w}x{h}) with nearest neighbour",
                file=sys.stderr,
            )
        return self.masks

    def write_grid(self) -> None:
        """OUT/grid.png (inference/sheet.py) when a content has every column, unless --skip-existing
        finds one."""
        rows = sheet_rows(self.plan, self.grid)
        if not rows:
            return
        if self.args.skip_existing and self.plan.grid.exists():
            self.summary["skipped"].append(str(self.plan.grid))
        else:
            self.summary["grid"] = write_sheet(self.plan, self.styles, self.grid, rows)


def stylize_video(runner: Runner, index: int, path: Path) -> None:
    """Write every output of the video content `path` (content number `index` of the run's plan);
    a clip that fails is one line in 'failed'."""
    targets, skipped = clip_targets(runner.plan, index, runner.styles, runner.args)
    runner.summary["skipped"] += skipped
    try:
        if targets:
            stylize_clip(path, targets, runner, runner.args)
            runner.summary["written"] += [str(t.path) for t in targets]
    except VideoReadError as err:
        runner.fail(path, err.reason)
    except (RuntimeError, ValueError, OSError) as err:
        runner.fail(path, (str(err).strip().splitlines() or [type(err).__name__])[0])
    runner.bar.update(len(runner.plan.entries))


def run_jobs(args: InferOptions, plan: Plan) -> dict:
    """Stylize the plan. A warning about the network (random weights) comes once it loaded, after
    the load errors that would make it moot; the bar starts after the load too: an error there is
    the only line a failed run prints."""
    runner = Runner(args, plan)
    if warning := random_weights_warning(args):
        print(f"WARNING: {warning}", file=sys.stderr)
    with tqdm(total=plan.total_pairs, desc="stylize", unit="pair") as runner.bar:
        return runner.run()
