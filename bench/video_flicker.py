"""docs/video.md's flicker table and the 512 px frames/s (docs/results/video.md).

    python -m bench.video_flicker [--frames 24] [--opt-steps 10]
    python -m bench.video_flicker --checkpoint hed-adain \
        --style data/offline/style/val/brush_s1000_kandinsky.jpg    # the real networks, offline

Without --checkpoint: random weights (the code paths only). With it: that checkpoint's decoder, the
--style image, and the optimization on HED's VGG16 (--feature-net vgg16 --weights hed).

A generated clip (data_prep/sample_clip.py: a window sliding 2 px/frame over skimage photographs,
grain of varying strength, a scene cut) is stylized by a random-weight VGG19 + mirror-VGG decoder
(He-initialized so its output is not flat) with --temporal off / stats / flow, and by the
optimization (few steps) with the same three (flow: Ruder et al.'s temporal loss); eval.video
measures the warping error. Frames/s is the per-clip loop only (decode, stylize, flow, encode),
model loading excluded.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.figures import _vary_outputs
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from data_prep.sample_clip import write_clip
from eval.video import evaluate_video
from inference import run
from inference.api import stylize
from models.net import StyleTransferNet
from weights.release import save_release

SECONDS: list[float] = []
_inner = run.stylize_video


def _timed(runner, index, path):
    start = time.perf_counter()
    _inner(runner, index, path)
    SECONDS.append(time.perf_counter() - start)


def measure(root: Path, clip: Path, frames: int, name: str, *flags: str) -> tuple[float, float]:
    """Warping error and frames/s of `clip` stylized with `flags` (which name the style)."""
    summary = stylize(
        ["--content", str(clip), "--out", str(root / name), "--overwrite", *flags]
    )
    assert not summary["failed"], summary["failed"]
    error = evaluate_video(clip, summary["written"][0], lpips=False, losses=False)["warping_error"]
    return error, frames / SECONDS[-1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--opt-steps", type=int, default=10)
    p.add_argument("--checkpoint", help="a release name or file (default: random weights)")
    p.add_argument("--style", help="the style image (default: 64x64 noise)")
    a = p.parse_args(argv)
    run.stylize_video = _timed  # frames/s of the per-clip loop only
    root = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    if a.checkpoint:
        ckpt, opt_net = (
            ["--checkpoint", a.checkpoint],
            ["--feature-net", "vgg16", "--weights", "hed"],
        )
    else:
        net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
        _vary_outputs(net)  # tests/conftest.py's vary_outputs, bitwise (He init, last conv x8)
        ckpt = [
            "--checkpoint",
            str(save_release(root / "vgg.safetensors", net)),
            "--weights",
            "random",
        ]
        opt_net = ["--weights", "random", "--style-weight", "1000"]  # scaled for random features
    style = a.style or str(root / "style.png")
    if not a.style:
        noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
        Image.fromarray(noise).save(style)
    ckpt += ["--style", style]
    clip, small = root / "clip.mp4", root / "small.mp4"
    write_clip(clip, a.frames, (128, 96), rate=24, noise=0.05, cut=a.frames // 2, speed=2)
    write_clip(small, 8, (64, 48), rate=24, noise=0.05, speed=2)
    print("| clip | method | warping error | frames/s |\n|---|---|---|---|")
    own = evaluate_video(clip, clip, lpips=False, losses=False)["warping_error"]
    print(f"| 128x96, {a.frames} frames | the original clip itself | {own:.5f} | - |")
    for mode in ("off", "stats", "flow"):
        flags = [*ckpt, "--temporal", mode, "--batch-size", "8"]
        err, fps = measure(root, clip, a.frames, mode, *flags)
        print(f"| 128x96, {a.frames} frames | decoder, --temporal {mode} | {err:.5f} | {fps:.1f} |")
    opt = ["--method", "optimize", "--steps", str(a.opt_steps), *opt_net]
    opt += ["--style", style]
    for mode in ("off", "stats", "flow"):
        err, fps = measure(root, small, 8, f"opt_{mode}", *opt, "--temporal", mode)
        row = f"optimize {a.opt_steps} steps, --temporal {mode}"
        print(f"| 64x48, 8 frames | {row} | {err:.5f} | {fps:.2f} |")
    big = root / "big.mp4"
    write_clip(big, 4, (683, 512), codec="mpeg4", rate=24, noise=0.05, speed=2, audio=False)
    print("\n| 512 px (683x512), 4 frames | precision | --temporal | frames/s |\n|---|---|---|---|")
    for precision in ("fp32", "bf16"):
        for mode in ("off", "flow"):
            _, fps = measure(
                root,
                big,
                4,
                f"big_{precision}_{mode}",
                *ckpt,
                "--precision",
                precision,
                "--temporal",
                mode,
                "--batch-size",
                "4",
                "--device",
                "cpu",
            )
            print(f"| decoder | {precision} | {mode} | {fps:.2f} |")


if __name__ == "__main__":
    main()
