"""The per-clip loop: decode, stylize through the run (every per-image knob), stabilize, encode.

One clip is decoded once and written for every (style entry, alpha) of the run at the same time,
frame by frame (media/video.py streams both ways), with `--batch-size` frames per forward pass and
the style statistics the Runner computed once per style. The clip asks two things of the run, and
knows nothing else of it (`Stylizer`: inference/run.py's Runner provides them); which outputs to
write and what to record come from the Runner too. `--temporal` (inference/temporal.py):

  off    every frame on its own (flickers: the reference for the warping error, eval/video.py).
  stats  every output frame's colour mean/std replaced by their moving average (reset at scene
         cuts), after the model: any backend, either method.
  flow   the decoder's frame blended with the previous output warped by the flow of the original
         frames; with `--method optimize`, Ruder et al. 2016: each frame starts from the warped
         previous result and adds the short-term temporal loss (`--temporal-weight`).

A broken clip (unreadable, truncated, no video stream, no frame) is one line in the run's 'failed'
list; its outputs are written atomically, so nothing half-written is left under the output name.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from inference.jobs import Entry, Plan
from inference.options import InferOptions
from inference.temporal import StatsSmoother, blend_previous
from media.files import atomic_path
from media.flow import previous_onto_current, scene_cut, warp
from media.images import resize_image, save_image, to_tensor
from media.progress import tqdm
from media.video import VideoReader, VideoWriter
from models.gatys import TemporalPrior


class Stylizer(Protocol):
    """What a clip needs of the run: whether it optimizes, and a batch of frames stylized."""

    @property
    def optimizes(self) -> bool:
        """The per-image optimization: one frame at a time, each from the previous result."""

    def outputs(
        self, contents: torch.Tensor, entry: Entry, prior: TemporalPrior | None = None
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) frames with `entry`'s styles -> a (B, 3, H, W) batch per alpha."""


@dataclass
class Target:
    """One output of the clip: a style entry at one alpha, its writer and the last frame written."""

    entry: Entry
    alpha_index: int
    path: Path
    frames_dir: Path | None
    writer: VideoWriter | None = None
    previous: torch.Tensor | None = None  # (3, H, W) last output, for flow blending / the prior
    smoother: StatsSmoother = field(default_factory=StatsSmoother)  # the `stats` mode's state


@dataclass
class Pending:
    """A decoded frame waiting for its batch: the model input, its timing, and the temporal
    inputs."""

    image: torch.Tensor  # (3, H, W) float in [0, 1], resized like an image content
    pts: int
    index: int
    cut: bool  # a scene starts here
    flow: np.ndarray | None = None  # (H, W, 2) backward flow to the previous original frame
    reliable: np.ndarray | None = None  # (H, W) forward-backward check


@dataclass
class ClipRun:
    run: Stylizer
    args: InferOptions
    targets: list[Target]

    def stylize(self, batch: list[Pending]) -> None:
        """Stylize a batch with every entry, stabilize in frame order, write every target."""
        contents = torch.stack([p.image for p in batch])
        for entry in dict.fromkeys(t.entry.name for t in self.targets):
            targets = [t for t in self.targets if t.entry.name == entry]
            outs = self._outputs(targets[0].entry, contents, batch, targets)
            for target in targets:
                for b, pending in enumerate(batch):
                    blend = self.args.temporal == "flow" and not self.run.optimizes
                    self._write(target, outs[target.alpha_index][b], pending, blend)

    def _outputs(
        self, entry: Entry, contents: torch.Tensor, batch: list[Pending], targets: list[Target]
    ) -> list[torch.Tensor]:
        if not self.run.optimizes:
            return self.run.outputs(contents, entry)
        # one frame at a time: each starts from the previous (the optimization has one alpha, so
        # one target per entry)
        target, frames = targets[0], []
        for b, pending in enumerate(batch):
            prior = self._prior(target, pending) if self.args.temporal == "flow" else None
            out = self.run.outputs(contents[b : b + 1], entry, prior)[0]
            target.previous = out[0]
            frames.append(out)
        return [torch.cat(frames)]

    def _prior(self, target: Target, pending: Pending) -> TemporalPrior | None:
        if target.previous is None or pending.cut:
            return None
        warped = _warp_tensor(target.previous, pending.flow)
        mask = torch.from_numpy(pending.reliable)[None, None]
        return TemporalPrior(warped[None], mask, self.args.temporal_weight)

    def _write(self, target: Target, out: torch.Tensor, pending: Pending, blend: bool) -> None:
        if blend and target.previous is not None and not pending.cut:
            warped = _warp_tensor(target.previous, pending.flow)
            out = blend_previous(out, warped, torch.from_numpy(pending.reliable))
        if self.args.temporal == "stats":
            out = target.smoother(out, pending.cut)
        target.previous = out
        rgb = out.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        target.writer.write(rgb, pending.pts)
        if target.frames_dir is not None:
            save_image(out, target.frames_dir / f"{pending.index:06d}.png")


def _warp_tensor(image: torch.Tensor, flow: np.ndarray) -> torch.Tensor:
    """(3, H, W) float tensor sampled along a (H, W, 2) flow (media.flow.warp)."""
    warped = warp(np.ascontiguousarray(image.permute(1, 2, 0).numpy()), flow)
    return torch.from_numpy(warped).permute(2, 0, 1).contiguous()


def clip_targets(
    plan: Plan, index: int, styles: dict, args: InferOptions
) -> tuple[list[Target], list[str]]:
    """The outputs still to compute for clip `index` of the plan, and those --skip-existing keeps;
    an entry with a style missing from `styles` (unreadable: already in 'failed') has none."""
    targets, skipped = [], []
    for entry in plan.entries:
        if any(k not in styles for k in entry.styles):
            continue
        for a, alpha in enumerate(plan.alphas):
            path = plan.output_path(index, entry, alpha)
            if args.skip_existing and path.is_file():
                skipped.append(str(path))
                continue
            frames = plan.frames_dir(index, entry, alpha) if args.frames else None
            targets.append(Target(entry, a, path, frames))
    return targets, skipped


def stylize_clip(path: Path, targets: list[Target], run: Stylizer, args: InferOptions) -> None:
    """Write `targets`, the outputs of the clip `path`, each atomically.

    Raises:
        VideoReadError: the clip cannot be read (its reason is one line).
        RuntimeError, ValueError, OSError: a frame could not be stylized or written.
    """
    batch_size = 1 if run.optimizes else args.batch_size
    with VideoReader(path) as reader, contextlib.ExitStack() as stack:
        for target in targets:
            tmp = stack.enter_context(atomic_path(target.path))
            target.writer = stack.enter_context(VideoWriter(tmp, reader, args.crf, args.bit_rate))
        clip = ClipRun(run, args, targets)

        def mux(packet) -> None:
            for target in targets:
                target.writer.mux_audio(packet)

        previous, batch = None, []
        bar = tqdm(
            total=reader.frames_hint or None,
            desc=path.name,
            unit="frame",
            leave=False,
        )
        with bar:
            for frame in reader.frames(on_audio=mux):
                picture = resize_image(
                    Image.fromarray(frame.rgb), args.size, args.max_size, args.upscale
                )
                rgb = np.asarray(picture)
                cut = scene_cut(previous, rgb)
                pending = Pending(to_tensor(picture), frame.pts, frame.index, cut)
                if args.temporal == "flow" and not pending.cut:
                    pending.flow, pending.reliable = previous_onto_current(rgb, previous)
                previous = rgb
                batch.append(pending)
                if len(batch) == batch_size:
                    clip.stylize(batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                clip.stylize(batch)
                bar.update(len(batch))
        notes = {n for t in targets for n in t.writer.notes}
        padded = next((t.writer.padded for t in targets if t.writer.padded), None)
    for note in sorted(notes):
        print(f"WARNING: {path}: {note}", file=sys.stderr)
    if padded:
        print(
            f"WARNING: {path}: yuv420p needs even sides: the video is {padded[0]}x{padded[1]} px "
            "(last row/column repeated); --frames PNGs keep the exact size",
            file=sys.stderr,
        )
