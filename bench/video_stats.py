"""Which statistics `--temporal stats` should smooth (docs/results/video_stats.md): the warping
error of a random VGG19 + He-initialized mirror decoder on generated clips, per-frame (off) vs the
moving average of the CONTENT statistics (this mode's first version) vs that of the OUTPUT frames'
colour statistics (inference/temporal.py), at several time constants.

    python -m bench.video_stats

In-process on the decoded clip (no H.264 round trip on the output, so the numbers differ slightly
from bench/video_flicker.py's), the warping error of eval/video.py (masked_error, DIS flow of the
original frames, scene-cut pairs skipped). Oracle rows: the statistics of the same frames without
grain or exposure flicker (data_prep/sample_clip.py draws the same windows), on the noisy features.
"""

import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.figures import _vary_outputs
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from data_prep.sample_clip import clip_frames, write_clip
from eval.video import masked_error
from inference.temporal import StatsSmoother
from media.flow import previous_onto_current, scene_cut, warp
from media.images import to_tensor
from media.video import VideoReader
from models.net import StyleTransferNet

# name: (frames, (W, H), write_clip / clip_frames keywords); the first two are the test's and the
# clip of docs/video.md
CLIPS = {
    "test clip 64x48, grain, 2 px/frame, cut": (12, (64, 48), dict(noise=0.05, cut=8, speed=2)),
    "README clip 128x96, grain, 2 px/frame, cut": (
        24,
        (128, 96),
        dict(noise=0.05, cut=12, speed=2),
    ),
    "64x48 static, grain": (12, (64, 48), dict(noise=0.05, speed=0)),
    "64x48 static, exposure flicker 0.1": (12, (64, 48), dict(flicker=0.1, speed=0)),
    "64x48, grain, 1 px/frame": (12, (64, 48), dict(noise=0.05, speed=1)),
    "96x64, grain 0.1, flicker 0.05, 3 px/frame, cut": (
        12,
        (96, 64),
        dict(noise=0.1, flicker=0.05, speed=3, cut=6),
    ),
}
TAUS = (2.0, 3.0, 4.0, 8.0, math.inf)  # inf: the shot's first frame's statistics held


def _image(rgb: np.ndarray) -> torch.Tensor:
    return to_tensor(Image.fromarray(rgb))[None]


def content_ema(stats: list, cuts: list[bool], tau: float) -> list:
    """The rejected method: per-channel (mean, std) at relu4_1 averaged over time, reset at cuts."""
    k, state, out = 1.0 - math.exp(-1.0 / tau), None, []
    for s, cut in zip(stats, cuts):
        state = s if state is None or cut else tuple(torch.lerp(a, b, k) for a, b in zip(state, s))
        out.append(state)
    return out


def measure(net, style, frames, clean) -> dict[str, float]:
    cuts = [scene_cut(a, b) for a, b in zip([None, *frames], frames)]
    pairs = [(t, *previous_onto_current(frames[t], frames[t - 1])) for t in range(1, len(frames))]
    pairs = [p for p in pairs if not cuts[p[0]]]
    with torch.inference_mode():
        feats = [net.encode(_image(f)) for f in frames]
        own = [net.transform.stats(f) for f in feats]
        oracle = [net.transform.stats(net.encode(_image(f))) for f in clean]

        def error(stats=None, smoother=None) -> float:
            outs = []
            for t, f in enumerate(feats):
                given = None if stats is None else [stats[t]]
                y = net.stylize_features(f, [style], size=frames[t].shape[:2], content_stats=given)
                y = y[0][0] if smoother is None else smoother(y[0][0], cuts[t])
                outs.append(y.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy())
            return float(
                np.mean([masked_error(outs[t], warp(outs[t - 1], b), m) for t, b, m in pairs])
            )

        off = error()
        rows = {"off (warping error)": off, "content stats of the clean frames": error(oracle)}
        for tau in TAUS:
            rows[f"content EMA, tau {tau:g}"] = error(content_ema(own, cuts, tau))
        for tau in TAUS:
            rows[f"output colour EMA, tau {tau:g} (stats)"] = error(smoother=StatsSmoother(tau))
    return {k: v if k.startswith("off") else v / off for k, v in rows.items()}


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig())).eval()
    _vary_outputs(net)  # tests/conftest.py's vary_outputs, bitwise (He init, last conv x8)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    with torch.inference_mode():
        style = net.style_stats(net.encode(_image(noise)))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (n, size, kw) in CLIPS.items():
            path = Path(tmp) / "clip.mp4"
            write_clip(path, n, size, rate=24, **kw)
            with VideoReader(path) as reader:
                frames = [f.rgb for f in reader.frames()]
            clean = clip_frames(n, *size, cut=kw.get("cut"), speed=kw["speed"])
            results[name] = measure(net, style, frames, clean)
            print(f"{name}: done", file=sys.stderr)
    rows = list(next(iter(results.values())))
    print("| method | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for row in rows:
        cells = [
            f"{r[row]:.5f}" if row.startswith("off") else f"{r[row]:.3f}x" for r in results.values()
        ]
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
