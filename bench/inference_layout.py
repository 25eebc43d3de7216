"""Inference layout check: infer.py's Engine with channels_last on (its default) and off,
interleaved.

    python -m bench.inference_layout [--size 256] [--repeats 5]   -> a Markdown table on stdout

Random-weight VGG decoder (bench.cases.stylization_net("decoder_vgg")), one content x style pair
per call, fp32 and bf16; the two layouts alternate call by call so a change of machine load hits
both alike. Figures: docs/results/inference_layout.md.
"""

from __future__ import annotations

import statistics
import time

import torch

from bench.cases import random_pair, stylization_net
from bench.train_step import cpu_name
from configs.cli import ArgumentParser
from inference.engine import Engine


def main(argv: list[str] | None = None) -> str:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256, help="content and style side in pixels")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per layout")
    args = p.parse_args(argv)
    cpu = torch.device("cpu")
    content, style = random_pair(1, args.size)
    lines = [
        f"{cpu_name()}, {torch.get_num_threads()} threads, {args.size} px pair, "
        f"median of {args.repeats}",
        "",
        "| precision | NCHW s | NHWC s | NHWC speed-up |",
        "|---|---|---|---|",
    ]
    for precision in ("fp32", "bf16"):
        runs = {
            cl: Engine.for_net(stylization_net("decoder_vgg"), cpu, precision, cl, 0)
            for cl in (False, True)
        }
        times = {cl: [] for cl in runs}
        for _ in range(args.repeats + 1):  # the first round is the warm-up
            for cl, s in runs.items():
                start = time.perf_counter()
                s.decode_batch(content, [s.encode(style)])
                times[cl].append(time.perf_counter() - start)
        nchw, nhwc = (statistics.median(times[cl][1:]) for cl in (False, True))
        lines.append(f"| {precision} | {nchw:.3f} | {nhwc:.3f} | {nchw / nhwc:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
