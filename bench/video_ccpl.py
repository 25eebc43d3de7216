"""CCPL's effect on flicker (docs/results/video_ccpl.md): two decoders trained alike, one with
loss.ccpl_weight, then the same generated clip stylized per frame (--temporal off) by each.

    python -m bench.video_ccpl [--steps 400] [--weight 5]

Random weights offline (smoke.yaml: random VGG19 encoder and loss network, the sample set at 64 px
crops), so the numbers measure what the training term does to the pipeline's stability, not beauty.
The warping error is eval.video's (flow of the ORIGINAL frames, occlusion-masked); "contrast" is
the mean over frames of the stylized frame's pixel std (a flat output would flicker trivially
little); the losses are the training's own last logged values. train.py and infer.py run as the
commands a reader types (subprocesses: bench/ sits below the entry points), messages on stderr.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from data_prep.sample import build_sample
from data_prep.sample_clip import write_clip
from eval.video import evaluate_video
from media.video import VideoReader

REPO = Path(__file__).resolve().parents[1]


def last(run: Path, tag: str) -> float:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return events.Scalars(tag)[-1].value if tag in events.Tags()["scalars"] else float("nan")


def command(*argv: str) -> None:
    """`python ARGV` in the repo's root, its output on stderr (stdout holds the table)."""
    subprocess.run([sys.executable, *argv], cwd=REPO, stdout=sys.stderr, check=True)


def contrast(path: Path) -> float:
    with VideoReader(path) as reader:
        return float(np.mean([f.rgb.astype(np.float64).std() / 255 for f in reader.frames()]))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=400, help="training steps of each decoder")
    p.add_argument("--weight", type=float, default=5.0, help="loss.ccpl_weight of the second")
    a, root = p.parse_args(argv), Path(tempfile.mkdtemp())
    build_sample(root / "data", size=96)
    clip = root / "clip.mp4"
    write_clip(clip, 24, (128, 96), rate=24, noise=0.05, speed=2)
    style = root / "style.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(style)
    print(
        f"| loss.ccpl_weight | warping error (--temporal off) | contrast | loss/content "
        f"| loss/style | loss/ccpl |\n|---|---|---|---|---|---|\n"
        f"| the original clip itself | "
        f"{evaluate_video(clip, clip, lpips=False, losses=False)['warping_error']:.5f} | "
        f"{contrast(clip):.3f} | | | |"
    )
    for weight in (0.0, a.weight):
        run = root / f"ccpl_{weight:g}"
        command(
            "train.py",
            "--config",
            str(REPO / "configs" / "smoke.yaml"),
            "--run-dir",
            str(run),
            f"data.root={root / 'data'}",
            f"train.steps={a.steps}",
            f"train.log_every={a.steps // 10}",
            f"train.save_every={a.steps}",
            "train.val_pairs=0",
            f"loss.ccpl_weight={weight}",
        )
        out = root / f"out_{weight:g}"
        command(
            "infer.py",
            "--checkpoint",
            str(run / "model.safetensors"),
            "--content",
            str(clip),
            "--style",
            str(style),
            "--temporal",
            "off",
            "--out",
            str(out),
        )
        (written,) = out.glob("*.mp4")
        error = evaluate_video(clip, written, lpips=False, losses=False)
        values = [last(run, f"loss/{k}") for k in ("content", "style", "ccpl")]
        print(
            f"| {weight:g} | {error['warping_error']:.5f} | "
            f"{contrast(written):.3f} | " + " | ".join(f"{v:.4g}" for v in values),
            "|",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
