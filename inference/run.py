"""The inference loop: load inputs, stylize (decoder or optimization), write outputs, collect a summary.

Bad files are recorded and skipped; the others are written. Contents of equal size are batched up to
--batch-size; style features are cached per style (per content in covariance mode, where the style is
recolored to each content first).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from configs.schema import load_config
from data_prep.grid import stylization_grid
from data_prep.images import ImageReadError, load_image, save_image
from data_prep.resize import resize, resize_short
from inference.jobs import Entry, Plan, load_mask
from inference.options import InferOptions
from inference.stylizer import Stylizer
from models.checkpoint import load_model
from models.color import match_color, preserve_luminance
from models.gatys import DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, OptimizeOptions, optimize
from models.precision import check_precision, resolve_device
from models.pretrained import parse_weights
from models.registry import build_feature_net

GRID_CELL = 128


def load_net(args: InferOptions):
    """The trained network from --checkpoint (+ --config for plain state dicts, --weights for the encoder)."""
    cfg = load_config(args.config).model if args.config else None
    source = parse_weights(args.weights)
    overrides = {} if source.pretrained else {"pretrained": False, "weights_file": source.file}
    return load_model(args.checkpoint, cfg, map_location="cpu", **overrides)


def optimize_options(args: InferOptions) -> OptimizeOptions:
    return OptimizeOptions(
        feature_net=args.feature_net, style_loss=args.style_loss, content_weight=args.content_weight,
        style_weight=DEFAULT_STYLE_WEIGHT if args.style_weight is None else args.style_weight,
        tv_weight=DEFAULT_TV_WEIGHT if args.tv_weight is None else args.tv_weight,
        optimizer=args.optimizer, lr=args.lr, steps=args.steps[0] if len(args.steps) == 1 else list(args.steps),
        init=args.init, scales=tuple(args.scales), luminance_only=args.preserve_color == "luminance",
        save_every=args.save_every, seed=args.seed, precision=args.precision,
    )


class Runner:
    def __init__(self, args: InferOptions, plan: Plan, bar):
        self.args, self.plan, self.bar = args, plan, bar
        self.summary = {"written": [], "skipped": [], "failed": [], "grid": None}
        self.device = resolve_device(args.device)
        check_precision(self.device, args.precision)
        self.styles: dict[int, torch.Tensor] = {}
        size = args.style_size or args.size
        for k, path in enumerate(plan.styles):
            try:
                self.styles[k] = load_image(path, size, args.max_size, args.upscale)[None]
            except ImageReadError as err:
                self.fail(path, err.reason)
        self.masks = load_mask(plan.mask, len(plan.styles)) if plan.mask else None
        if args.resolved_method == "decoder":
            self.stylizer = Stylizer(load_net(args), self.device, args.precision, args.channels_last,
                                     args.tile_size, args.tile_overlap)
        else:
            self.opts = optimize_options(args)
            content_layers, style_layers = self.opts.layers()
            layers = list(dict.fromkeys([*content_layers, *style_layers]))
            self.feature_net = build_feature_net(args.feature_net, layers, args.weights).to(self.device)
        self.grid: dict[tuple[int, Path], torch.Tensor] = {}

    def fail(self, path: Path, reason: str) -> None:
        self.summary["failed"].append({"path": str(path), "error": reason})

    def run(self) -> dict:
        pending: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
        for i, path in enumerate(self.plan.contents):
            try:
                image = load_image(path, self.args.size, self.args.max_size, self.args.upscale)
            except ImageReadError as err:
                self.fail(path, err.reason)
                self.bar.update(len(self.plan.entries))
                continue
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
        ids, contents = [i for i, _ in batch], torch.stack([t for _, t in batch])
        for entry in self.plan.entries:
            self.bar.update(len(ids))
            if any(k not in self.styles for k in entry.styles):
                continue  # the unreadable style is already in 'failed'
            paths = {(i, a): self.plan.output_path(i, entry, a) for i in ids for a in self.plan.alphas}
            if self.args.skip_existing and all(p.is_file() for p in paths.values()):
                self.summary["skipped"] += [str(p) for p in paths.values()]
                continue
            if self.args.resolved_method == "decoder":
                outs = self.decode(contents, entry)
            else:
                outs = [torch.cat([self.optimize(ids[b], contents[b : b + 1], entry) for b in range(len(ids))])]
            for alpha, out in zip(self.plan.alphas, outs):
                if self.args.preserve_color == "luminance" and self.args.resolved_method == "decoder":
                    out = preserve_luminance(out, contents)  # the optimization does Gatys' luminance-only itself
                for b, i in enumerate(ids):
                    save_image(out[b], paths[i, alpha])
                    self.summary["written"].append(str(paths[i, alpha]))
                    if self.args.grid:
                        self.grid[i, paths[i, alpha]] = _thumb(out[b])

    def style_inputs(self, contents: torch.Tensor, entry: Entry) -> list[torch.Tensor]:
        """Style images of an entry; in covariance mode recolored to each content (B, 3, h, w) first."""
        styles = [self.styles[k] for k in entry.styles]
        if self.args.preserve_color == "covariance":
            styles = [match_color(s, contents) for s in styles]
        return styles

    def decode(self, contents: torch.Tensor, entry: Entry) -> list[torch.Tensor]:
        styles = self.style_inputs(contents, entry)
        if self.args.preserve_color == "covariance":  # each content recolors the style: nothing to cache
            stats = [self.stylizer.encode(s) for s in styles]
        else:
            stats = [self.stylizer.style_stats(k, s) for k, s in zip(entry.styles, styles)]
        weights = self.args.style_weights if len(entry.styles) > 1 and self.masks is None else None
        return self.stylizer.stylize(contents, stats, self.plan.alphas, weights, self.masks)

    def optimize(self, i: int, content: torch.Tensor, entry: Entry) -> torch.Tensor:
        styles = [s.to(self.device) for s in self.style_inputs(content, entry)]
        stem = self.plan.output_path(i, entry, 1.0).with_suffix("")
        result = optimize(self.feature_net, content.to(self.device), styles, self.opts,
                          self.args.style_weights, self._saver(stem) if self.args.save_every else None)
        return result.image.cpu()

    def _saver(self, stem: Path):
        def callback(step: int, image: torch.Tensor, log: list[dict]) -> None:
            save_image(image[0], f"{stem}__step{step:05d}.{self.plan.fmt}")
            stem.with_name(stem.name + ".losses.json").write_text(json.dumps(log, indent=1))

        return callback

    def write_grid(self) -> None:
        """OUT/grid.png: contents down the left, one column per (entry, alpha), style images on top."""
        columns = [(e, a) for e in self.plan.entries for a in self.plan.alphas]
        rows = [i for i in range(len(self.plan.contents))
                if all((i, self.plan.output_path(i, e, a)) in self.grid for e, a in columns)]
        if not rows:
            return
        contents = [_thumb(load_image(self.plan.contents[i], GRID_CELL)) for i in rows]
        tops = [_strips([self.styles[k][0] for k in e.styles]) for e, _ in columns]
        outputs = [[self.grid[i, self.plan.output_path(i, e, a)] for e, a in columns] for i in rows]
        path = self.plan.out / "grid.png"
        save_image(stylization_grid(contents, tops, outputs, cell=GRID_CELL), path)
        self.summary["grid"] = str(path)


def _thumb(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> short side GRID_CELL (kept in memory for the grid instead of the full output)."""
    return resize_short(image[None], min(GRID_CELL, *image.shape[-2:]))[0].clone()


def _strips(images: list[torch.Tensor]) -> torch.Tensor:
    """Several styles side by side as vertical strips of one square cell (the header of a mix column)."""
    cells = [resize(im[None], (GRID_CELL, GRID_CELL))[0]
             for im in images]
    bounds = [round(k * GRID_CELL / len(cells)) for k in range(len(cells) + 1)]
    return torch.cat([c[..., a:b] for c, (a, b) in zip(cells, zip(bounds, bounds[1:]))], dim=-1)


def run_jobs(args: InferOptions, plan: Plan, bar) -> dict:
    return Runner(args, plan, bar).run()
