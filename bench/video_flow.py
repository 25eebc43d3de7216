"""DIS vs Farneback on a generated clip with known motion: endpoint error, masked photometric error,
ms/pair.

    python -m bench.video_flow  (prints docs/results/video_flow.md's table)
"""

import time

import numpy as np

from data_prep.sample_clip import clip_frames
from media.flow import FLOW_METHODS, previous_onto_current, warp


def main() -> None:
    for size in ((128, 96), (512, 384)):
        frames = clip_frames(9, *size, noise=0.02, speed=2)
        for method in FLOW_METHODS:
            epe, photo, kept, start = [], [], [], time.perf_counter()
            for prev, cur in zip(frames, frames[1:]):
                back, mask = previous_onto_current(cur, prev, method)
                # the window moves +2 px/frame in x and y: cur(x) = prev(x + 2), true flow (2, 2)
                epe.append(np.linalg.norm(back - 2.0, axis=-1)[4:-4, 4:-4].mean())
                err = ((warp(prev, back).astype(np.float32) - cur) / 255.0) ** 2
                photo.append((err.sum(-1) * mask).sum() / max(mask.sum(), 1))
                kept.append(mask.mean())
            ms = (time.perf_counter() - start) / (len(frames) - 1) * 1000
            print(
                f"{size[0]}x{size[1]} {method:9s} EPE {np.mean(epe):.3f} px  masked warp err "
                f"{np.mean(photo):.5f}  reliable {np.mean(kept):.1%}  {ms:.1f} ms/pair (2 flows)"
            )


if __name__ == "__main__":
    main()
