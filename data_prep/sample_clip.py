"""Generated clips for tests, benchmarks and the flicker table of docs/video.md (no download).

A window slides over a photograph bundled with scikit-image (a moving texture with known motion),
optionally with per-frame Gaussian noise and brightness flicker (what makes per-frame stylization
flicker), a scene cut to
another photograph, variable frame timing, and a sine tone as AAC audio.

    python -m data_prep.sample_clip data/clips/clip.mp4 --frames 48 --size 128 96 --noise 0.03
"""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
from skimage import data

from configs.cli import ArgumentParser

SAMPLE_RATE = 48000
AUDIO_FRAME = 1024  # samples per AAC frame


def _photo(name: str, width: int, height: int, frames: int, speed: int) -> np.ndarray:
    """A photograph tiled large enough for a (height, width) window to move `speed` px per frame."""
    img = getattr(data, name)()
    img = np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]
    need_h, need_w = height + speed * frames + 1, width + speed * frames + 1
    reps = (-(-need_h // img.shape[0]), -(-need_w // img.shape[1]), 1)
    return np.tile(img, reps)


def clip_frames(
    frames: int,
    width: int,
    height: int,
    noise: float = 0.0,
    cut: int | None = None,
    speed: int = 1,
    seed: int = 0,
    flicker: float = 0.0,
) -> list[np.ndarray]:
    """(height, width, 3) uint8 frames: a window moving diagonally `speed` px/frame, Gaussian noise
    of std `noise` x U(0.25, 1.75) drawn per frame (in [0, 1] units), each frame's brightness scaled
    by 1 + N(0, flicker) (exposure flicker), and from frame `cut` on another photograph (a scene
    cut)."""
    rng = np.random.default_rng(seed)
    scenes = [_photo(n, width, height, frames, speed) for n in ("astronaut", "coffee")]
    out = []
    for t in range(frames):
        scene = scenes[int(cut is not None and t >= cut)]
        y = x = t * speed
        crop = scene[y : y + height, x : x + width].astype(np.float32)
        if flicker:
            crop = crop * (1.0 + rng.normal(0.0, flicker))
        if noise:
            # grain whose strength changes from frame to frame (as with exposure or codec quality)
            crop = crop + rng.normal(0.0, noise * rng.uniform(0.25, 1.75) * 255.0, crop.shape)
        out.append(np.clip(crop, 0, 255).round().astype(np.uint8))
    return out


def write_clip(
    path: str | os.PathLike,
    frames: int = 16,
    size: tuple[int, int] = (64, 48),
    rate: int = 12,
    noise: float = 0.0,
    cut: int | None = None,
    audio: bool = True,
    vfr: bool = False,
    speed: int = 1,
    codec: str = "libx264",
    seed: int = 0,
    flicker: float = 0.0,
) -> None:
    """Write a generated clip: `size` = (W, H) (odd sides need codec 'libx264rgb' or 'mpeg4' ...),
    `vfr`: every third frame is held twice as long (variable frame rate)."""
    width, height = size
    container = av.open(str(path), "w")
    time_base = Fraction(1, rate * 2)
    video = container.add_stream(codec, rate=rate)
    video.width, video.height = width, height
    video.pix_fmt = "yuv420p" if codec != "libx264rgb" else "rgb24"
    video.time_base = video.codec_context.time_base = time_base
    if codec == "libx264":
        video.options = {"crf": "10"}
    tone = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio else None
    pts = 0
    for t, rgb in enumerate(clip_frames(frames, width, height, noise, cut, speed, seed, flicker)):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        container.mux(video.encode(frame))
        pts += 4 if vfr and t % 3 == 2 else 2
    container.mux(video.encode(None))
    if tone is not None:
        seconds = pts * float(time_base)
        samples = np.sin(2 * np.pi * 440 * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE)
        for start in range(0, len(samples), AUDIO_FRAME):
            chunk = (0.3 * samples[start : start + AUDIO_FRAME]).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            container.mux(tone.encode(frame))
        container.mux(tone.encode(None))
    container.close()


def main(argv: list[str] | None = None) -> str:
    """`python -m data_prep.sample_clip --help`; returns the path written."""
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", help="the clip to write (.mp4; its folder is created)")
    p.add_argument("--frames", type=int, default=48, help="number of frames")
    p.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(128, 96),
        metavar=("W", "H"),
        help="frame size (default: 128 96)",
    )
    p.add_argument("--rate", type=int, default=24, help="frames per second")
    p.add_argument(
        "--noise", type=float, default=0.0, help="std of the per-frame grain, in [0, 1] units"
    )
    p.add_argument("--cut", type=int, help="frame index of a scene cut to another photograph")
    p.add_argument("--speed", type=int, default=1, help="pixels the window moves per frame")
    p.add_argument("--flicker", type=float, default=0.0, help="std of the per-frame gain")
    p.add_argument("--no-audio", dest="audio", action="store_false", help="no sine-tone track")
    a = p.parse_args(argv)
    for name in ("frames", "rate", "speed"):
        if getattr(a, name) < 1:
            p.error(f"--{name} {getattr(a, name)}: must be >= 1")
    if min(a.size) < 2 or any(side % 2 for side in a.size):
        p.error(f"--size {a.size[0]} {a.size[1]}: W and H must be even and >= 2 (yuv420p)")
    if os.path.splitext(a.out)[1].lower() != ".mp4":
        p.error(f"{a.out}: the clip is written as MP4; name it *.mp4")
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    write_clip(
        a.out,
        a.frames,
        tuple(a.size),
        a.rate,
        a.noise,
        a.cut,
        audio=a.audio,
        speed=a.speed,
        flicker=a.flicker,
    )
    w, h = a.size
    print(f"wrote {a.out} ({a.frames} frames, {w}x{h}, {a.rate} fps)")
    return a.out


if __name__ == "__main__":
    main()
