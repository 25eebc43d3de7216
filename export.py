"""Export a checkpoint: a Hugging Face hub folder (model card included), or ONNX graphs for
onnxruntime.

    python export.py --checkpoint runs/x/model.safetensors --hub hub/x [--push USER/REPO]
    python export.py --checkpoint runs/x/model.safetensors --out onnx/x [--int8]
    python infer.py --backend onnxruntime --checkpoint onnx/x --content photo.jpg --style art.jpg

--checkpoint takes everything infer.py takes (a release file, a run or step folder, a hub folder,
.pth with --config, adain-release, hf:USER/REPO[@REVISION]). `export(argv)` does the work and
returns what it wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from configs.cli import ArgumentParser, run_command
from configs.plugins import load_plugins
from configs.read import load_config
from configs.schema import ConfigError
from models.pretrained import PretrainedWeightsError
from models.registry import RegistryError
from weights.checkpoint import SPECS_HELP, CheckpointError, weights_file
from weights.load import load_model
from weights.model_card import push, write_hub_folder
from weights.onnx_export import export_onnx
from weights.onnx_int8 import INT8_DIR, quantize_int8
from weights.sources import resolve_checkpoint


def final_losses(run: Path) -> dict[str, tuple[int, float]]:
    """{tag: (step, value)}: the last point of every loss... scalar the run logged (none without
    events).
    """
    from eval.runs.tensorboard_io import read_scalars

    try:
        curves = read_scalars(run)
    except FileNotFoundError:
        return {}
    return {
        tag: points[-1]
        for tag, points in sorted(curves.items())
        if tag.startswith("loss") and points
    }


def wall_seconds(run: Path) -> float | None:
    """The run's training time from its TensorBoard events (None without events)."""
    from eval.runs.tensorboard_io import wall_seconds as read

    return read(run)


# --dtype: the hub copy's float tensors
RELEASE_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}


def export(argv: list[str]) -> dict:
    """Run the export of `argv`: {'hub': folder, 'pushed': url} or {'onnx': folder, ...}.

    Raises CheckpointError (ExportError, DownloadError, HubError), PretrainedWeightsError,
    ConfigError.
    """
    args = build_parser().parse_args(argv)
    try:
        load_plugins(args.plugins)  # a checkpoint whose transform or networks a plugin registered
    except RegistryError as err:
        raise CheckpointError(f"--plugins: {err}") from None
    if args.int8 and not args.out:
        raise CheckpointError("--int8 quantizes the ONNX graphs; give --out DIR instead of --hub")
    if args.push and not args.hub:
        raise CheckpointError("--push uploads the --hub folder; give --hub DIR too")
    target = Path(args.hub or args.out)
    if (
        target.exists()
        and (not target.is_dir() or any(target.iterdir()))
        and not (args.hub and args.overwrite)
    ):
        raise CheckpointError(
            f"{'--hub' if args.hub else '--out'} {target} exists and is not an empty folder; "
            "choose a new folder" + (" or pass --overwrite" if args.hub else "")
        )
    if args.hub:
        if args.config:
            raise CheckpointError(
                "--hub needs a checkpoint that describes itself (a release file or run folder); "
                "convert a plain state dict first: python -m weights.convert"
            )
        folder = write_hub_folder(
            resolve_checkpoint(args.checkpoint),  # a spec -> its local file, once
            target,
            args.push,
            args.license,
            final_losses,
            wall_seconds,
            RELEASE_DTYPES[args.dtype],
        )
        result = {"hub": str(folder), "files": written_files(folder)}
        print(f"wrote {folder}: {', '.join(result['files'])}")
        if args.push:
            result["pushed"] = push(folder, args.push)
            print(f"pushed to {result['pushed']}")
        return result
    cfg = load_config(args.config).model if args.config else None
    checkpoint = resolve_checkpoint(args.checkpoint)  # a spec -> its local file, once
    net = load_model(checkpoint, cfg)
    if args.transform:
        net.set_transform(args.transform)
    meta = export_onnx(net, target, str(weights_file(checkpoint)))
    how = "graph" if meta["transform"]["graph"] else "host code: " + meta["transform"]["host"]
    files = written_files(target)
    print(
        f"wrote {target}: {', '.join(files)} (copy them together; transform "
        f"{meta['transform']['name']}: {how})"
    )
    result = {"onnx": str(target), "transform": meta["transform"], "files": files}
    if args.int8:
        record = quantize_int8(net, target)
        parity = record["parity"]
        print(
            f"wrote {target / INT8_DIR}: {' and '.join(record['int8_graphs'])} in int8, images "
            f"within {parity['max_abs_255']:.1f}/255 of PyTorch's (mean "
            f"{parity['mean_abs_255']:.2f}/255; {record['parity_images']})"
        )
        result["int8"] = {"folder": str(target / INT8_DIR), **record}
    return result


def written_files(folder: Path) -> list[str]:
    """Every file in the folder export wrote, sorted, as 'name (size)': an .onnx graph's .data file
    holds its weights, so a copy of only some of them is a broken folder."""
    return [
        f"{p.name} ({_size(p.stat().st_size)})"
        for p in sorted(Path(folder).iterdir())
        if p.is_file()
    ]


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.1f} kB"


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python export.py",
        description=__doc__.split("\n")[0],
        epilog="\n".join(__doc__.split("\n")[1:]),
    )
    p.add_argument(
        "--checkpoint", required=True, help=f"release file, run/step/hub folder, {SPECS_HELP}"
    )
    p.add_argument("--config", help="experiment YAML for plain .pth state dicts (ONNX export only)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--hub", help="write a hub folder here: model.safetensors + model card README.md"
    )
    where.add_argument(
        "--out", help="write ONNX graphs + onnx_model.json here (a new or empty folder)"
    )
    p.add_argument(
        "--push", metavar="USER/REPO", help="with --hub: upload the folder to this hub repo"
    )
    p.add_argument("--license", default="mit", help="the model card's license (hub license id)")
    p.add_argument(
        "--dtype",
        choices=RELEASE_DTYPES,
        default="float32",
        help="--hub: the release's float tensors (bfloat16 halves the file; loading casts back)",
    )
    p.add_argument("--transform", help="ONNX: export with another transform than the checkpoint's")
    p.add_argument(
        "--int8",
        action="store_true",
        help="with --out: also OUT/int8/, the encoder and decoder dynamically quantized to int8 "
        "where that keeps quality (weights/onnx_int8.py; run it with --backend onnxruntime "
        "--checkpoint OUT/int8)",
    )
    p.add_argument(
        "--plugins",
        nargs="+",
        default=[],
        metavar="FILE|MODULE",
        help="your own transforms/networks (files or modules) that the checkpoint names",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="with --hub: replace the files of an existing folder",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    return run_command(
        export, argv, (CheckpointError, PretrainedWeightsError, ConfigError, ValueError)
    )


if __name__ == "__main__":
    sys.exit(main())
