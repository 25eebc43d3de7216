"""Flicker of a stylized clip: warping error, temporal LPIPS, and per-frame content/style losses.

    python -m eval.video --original clip.mp4 --stylized out/clip__style.mp4 [--style s.png]
        [--out X.json]

Definitions (eval/protocol.md, "Video"): the warping error follows Lai et al. 2018 with the flow of
the ORIGINAL frames (media/flow.py, DIS) and its forward-backward occlusion mask; the temporal LPIPS
is TecoGAN's tLP (Chu et al. 2020). Both clips stream frame by frame; the original is resized to the
stylized clip's size when they differ (`infer.py --size`), after dropping the one padded row/column
an odd-sized original gets in the encoded output (media/video.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from configs.cli import ArgumentParser
from eval.learned_metrics import UNAVAILABLE
from eval.loss_metrics import (
    CONTENT_LAYERS,
    EVAL_SIZE,
    LOSS_METRIC_KEYS,
    build_loss_net,
    loss_metrics,
)
from eval.metric_nets import MetricUnavailable, build_lpips
from media.files import atomic_write
from media.flow import previous_onto_current, scene_cut, warp
from media.images import ImageReadError, load_image
from media.progress import tqdm
from media.video import VideoReader, VideoReadError
from models.pretrained import PretrainedWeightsError


def masked_error(cur: np.ndarray, prev_warped: np.ndarray, mask: np.ndarray) -> float:
    """sum_x M(x) ||cur(x) - prev_warped(x)||^2 / sum_x M(x), uint8 RGB scaled to [0, 1], channels
    summed."""
    diff = ((cur.astype(np.float32) - prev_warped.astype(np.float32)) / 255.0) ** 2
    return float((diff.sum(-1) * mask).sum() / max(float(mask.sum()), 1.0))


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(255)[None]


def _match(original: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The original frame at the stylized frame's (H, W): crop an odd-size padding, else resize."""
    h, w = original.shape[:2]
    if (h, w) == size:
        return original
    if size[0] in (h, h + 1) and size[1] in (w, w + 1):  # the stylized clip padded to even sides
        return np.pad(original, ((0, size[0] - h), (0, size[1] - w), (0, 0)), mode="edge")
    return np.asarray(Image.fromarray(original).resize(size[::-1], Image.Resampling.BICUBIC))


def evaluate_video(
    original: str | Path,
    stylized: str | Path,
    style: str | Path | None = None,
    weights: str = "pretrained",
    lpips: bool = True,
    loss_size: int = EVAL_SIZE,
    losses: bool = True,
) -> dict:
    """Warping error (key `warping_error`) and the other numbers of the module docstring, as a
    dict."""
    loss_net, style_image, tlp_net, result = None, None, None, {}
    if losses:
        try:
            loss_net = build_loss_net(weights)
            style_image = None if style is None else load_image(style)[None]
        except (PretrainedWeightsError, MetricUnavailable) as err:
            result["losses"] = UNAVAILABLE + str(err)
    if lpips:
        try:
            tlp_net = build_lpips()
        except MetricUnavailable as err:
            result["temporal_lpips"] = UNAVAILABLE + str(err)
    errors, originals, reliable, tlp, per_frame = [], [], [], [], {}
    prev_o = prev_s = None
    count = 0
    with VideoReader(original) as a, VideoReader(stylized) as b:
        frames_a, frames_b = a.frames(), b.frames()
        pairs = zip(frames_a, frames_b)
        for fa, fb in tqdm(pairs, total=a.frames_hint or None, desc="frames", unit="frame"):
            count += 1
            o, s = _match(fa.rgb, fb.rgb.shape[:2]), fb.rgb
            if prev_o is not None and not scene_cut(prev_o, o):
                back, mask = previous_onto_current(o, prev_o)
                errors.append(masked_error(s, warp(prev_s, back), mask))
                originals.append(masked_error(o, warp(prev_o, back), mask))
                reliable.append(float(mask.mean()))
                if tlp_net is not None:
                    with torch.no_grad():
                        d_s = tlp_net(_to_tensor(s), _to_tensor(prev_s)).item()
                        d_o = tlp_net(_to_tensor(o), _to_tensor(prev_o)).item()
                    tlp.append(abs(d_s - d_o))
            if loss_net is not None:
                target = style_image if style_image is not None else _to_tensor(o)
                for key, value in loss_metrics(
                    _to_tensor(s), _to_tensor(o), target, loss_net, loss_size
                ).items():
                    per_frame.setdefault(key, []).append(float(value[0]))
            prev_o, prev_s = o, s
        if next(frames_a, None) is not None or next(frames_b, None) is not None:
            raise VideoReadError(
                stylized,
                f"has a different frame count than {original} (compared the first {count})",
            )
    result.update(
        frames=count,
        pairs=len(errors),
        warping_error=float(np.mean(errors)) if errors else float("nan"),
        warping_error_original=float(np.mean(originals)) if originals else float("nan"),
        reliable_fraction=float(np.mean(reliable)) if reliable else float("nan"),
    )
    if tlp_net is not None:
        result["temporal_lpips"] = float(np.mean(tlp)) if tlp else float("nan")
    keep = LOSS_METRIC_KEYS if style_image is not None else [f"content_{k}" for k in CONTENT_LAYERS]
    result.update({key: float(np.mean(per_frame[key])) for key in keep if key in per_frame})
    return result


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--original", required=True, help="the clip before stylization")
    p.add_argument("--stylized", required=True, help="infer.py's output for it")
    p.add_argument("--style", help="the style image: adds the per-frame style losses")
    p.add_argument("--out", help="also write the numbers to this JSON file")
    p.add_argument("--weights", default="pretrained", help="loss VGG19: pretrained | random | PATH")
    p.add_argument("--loss-size", type=int, default=EVAL_SIZE, help="256: reportable numbers")
    p.add_argument("--no-losses", dest="losses", action="store_false", help="warping error only")
    p.add_argument("--no-lpips", dest="lpips", action="store_false", help="skip the temporal LPIPS")
    a = p.parse_args(argv)
    try:
        result = evaluate_video(
            a.original, a.stylized, a.style, a.weights, a.lpips, a.loss_size, a.losses
        )
    except (VideoReadError, ImageReadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        atomic_write(a.out, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
