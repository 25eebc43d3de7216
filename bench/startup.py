"""Measure start-up: `import torch`, a tiny pair's whole `infer.py` run, `app.py` until it serves.

    python -m bench.startup [--runs 7] [--before /path/to/other/checkout]

Why: with 8 pairs at 512 px taking seconds, a start-up of several seconds was most of a small run.
Each round runs every command once (interleaved, so a busy machine slows them alike); the table
gives the minimum and the median wall time over the rounds, and the ratio of the minima to `import
torch`'s. The infer.py run stylizes a 64 px pair with a random-weight VGG19 + mirror decoder release
file (made here, in a temp folder); app.py is timed from its start until its page answers HTTP 200.
`--before` times another checkout of the repo the same way (e.g. the commit before a change).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wall(cmd: list[str], repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _app_ready(repo: Path, ckpt: Path, timeout: float = 300) -> float:
    """Seconds from starting app.py until its page answers (the server is ready for a visitor)."""
    port = _free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "app.py",
            "--checkpoint",
            str(ckpt),
            "--weights",
            "random",
            "--port",
            str(port),
            "--examples",
            str(ckpt.parent / "none"),
        ],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("app.py did not answer")
    finally:
        proc.terminate()
        proc.wait()


def _fixtures(folder: Path) -> tuple[Path, Path, Path]:
    code = (
        "import torch; from configs.schema import *; from models.net import StyleTransferNet; "
        "from weights.release import save_release; from media.images import save_image; "
        "torch.manual_seed(0); net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), "
        f"DecoderConfig())); save_release({str(folder / 'm.safetensors')!r}, net); "
        f"save_image(torch.rand(3, 64, 64), {str(folder / 'c.png')!r}); "
        f"save_image(torch.rand(3, 64, 64), {str(folder / 's.png')!r})"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    return folder / "m.safetensors", folder / "c.png", folder / "s.png"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--before", type=Path, help="another checkout to time the same way")
    p.add_argument("--no-app", action="store_true", help="skip app.py (gradio)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, content, style = _fixtures(Path(tmp))
        infer = [
            sys.executable,
            "infer.py",
            "--checkpoint",
            str(ckpt),
            "--content",
            str(content),
            "--style",
            str(style),
            "--out",
            str(Path(tmp) / "out"),
            "--overwrite",
        ]
        cases = {"import torch": lambda repo: _wall([sys.executable, "-c", "import torch"], repo)}
        repos = {"": REPO, **({" (before)": args.before} if args.before else {})}
        for tag, repo in repos.items():
            cases[f"infer.py 64 px pair{tag}"] = lambda r, repo=repo: _wall(infer, repo)
            if not args.no_app:
                cases[f"app.py until it serves{tag}"] = lambda r, repo=repo: _app_ready(repo, ckpt)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, case in cases.items():
                samples[name].append(case(REPO))
    base = min(samples["import torch"])
    print(f"{args.runs} rounds; python {sys.version.split()[0]}")
    print("| command | min s | median s | min / import torch |")
    print("|---|---|---|---|")
    for name, values in samples.items():
        print(
            f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} "
            f"| {min(values) / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
