"""Convert weights saved by other code into this repo's self-describing release file.

    python -m weights.convert --from vit-notebook --checkpoint notebook.pth \
        --out vit_notebook.safetensors
    python -m weights.convert --from adain-release --vgg vgg_normalised.pth --decoder decoder.pth \
        --out adain_release.safetensors

The release file holds the decoder, the encoder when it is not a library download, and the model
config (from the format's preset in configs/, plus `key=value` overrides) in its metadata, so
`infer.py --checkpoint <out>` reproduces the original code's images with no other flag, and
`model.init_from=<out>` fine-tunes from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from configs.cli import ArgumentParser, run_command
from configs.read import load_config
from configs.schema import ConfigError, ModelConfig
from models.net import StyleTransferNet
from models.pretrained import PretrainedWeightsError
from models.registry import build_encoder
from weights.checkpoint import CheckpointError
from weights.load import load_model
from weights.release import save_release

PRESETS = Path(__file__).resolve().parents[1] / "configs"


@dataclass(frozen=True)
class Format:
    """A foreign format: its preset config, the files it needs, where they come from, and how to
    load them."""

    preset: str
    files: tuple[str, ...]  # argparse dests of the required file flags
    origin: str  # for --help
    load: Callable[[dict[str, Path], ModelConfig], StyleTransferNet]  # (files by name, config)


def _load_notebook(files: dict[str, Path], cfg: ModelConfig) -> StyleTransferNet:
    # decoder widths and norm affinity are read from the file; the ViT comes from the file when it
    # holds one
    return load_model(files["checkpoint"], cfg)


def _load_adain_release(files: dict[str, Path], cfg: ModelConfig) -> StyleTransferNet:
    return load_model(files["decoder"], cfg, pretrained=False, weights_file=str(files["vgg"]))


# the registry of --from
FORMATS: dict[str, Format] = {
    "vit-notebook": Format(
        "vit_notebook.yaml",
        ("checkpoint",),
        "--checkpoint: a file the ViT + AdaIN notebook saved with torch.save(model.state_dict(), "
        "...) (every 5 epochs) from its nn.DataParallel-wrapped ViTStyleTransfer: keys "
        "module.vit_encoder.*, module.decoder.*, module.vgg_loss_net.*",
        _load_notebook,
    ),
    "adain-release": Format(
        "adain_original.yaml",
        ("vgg", "decoder"),
        "--vgg / --decoder: vgg_normalised.pth and decoder.pth of pytorch-AdaIN "
        "(github.com/naoto0804/pytorch-AdaIN, README 'Download models'), the weights "
        "CCPL, CCST and others point to",
        _load_adain_release,
    ),
}


def _library_encoder_equal(net: StyleTransferNet) -> tuple[bool, str]:
    """Whether the encoder equals the library's pretrained one (then the release need not hold it),
    and why not."""
    library_cfg = dataclasses.replace(net.cfg.encoder, pretrained=True, weights_file="")
    try:
        library = build_encoder(library_cfg).state_dict()
    except (PretrainedWeightsError, ValueError) as err:
        return False, f"the library's weights could not be read ({str(err)[:160]})"
    mine = net.encoder.state_dict()
    same = set(library) == set(mine) and all(
        torch.equal(library[k], mine[k].to(library[k].dtype)) for k in mine
    )
    return same, "" if same else "they differ from the library's pretrained weights"


def convert(argv: list[str]) -> Path:
    """Run the conversion of `argv` (the command-line flags); returns the written release file.

    Raises:
        CheckpointError, PretrainedWeightsError, ConfigError: a file or key that cannot be used.
    """
    args = build_parser().parse_args(argv)
    files = {name: getattr(args, name) for name in ("checkpoint", "vgg", "decoder")}
    return convert_files(args.source, files, args.out, args.config, args.encoder, args.overrides)


def convert_files(
    source: str,
    files: dict[str, Path | None],
    out: str | Path,
    config: str | Path | None = None,
    encoder: str = "auto",
    overrides: Sequence[str] = (),
) -> Path:
    """Convert the `source` format's `files` (by flag name: checkpoint, vgg, decoder) into the
    release file `out`; `config`, `encoder`, `overrides`: as the flags --config, --encoder and the
    key=value arguments. The library call behind `convert` (weights/download.py calls it).

    Raises:
        CheckpointError, PretrainedWeightsError, ConfigError: a file or key that cannot be used.
    """
    fmt = FORMATS[source]
    missing = [f"--{name}" for name in fmt.files if files.get(name) is None]
    if missing:
        raise CheckpointError(f"--from {source} needs {' and '.join(missing)} ({fmt.origin})")
    cfg = load_config(config or PRESETS / fmt.preset, list(overrides)).model
    net = fmt.load({name: Path(files[name]) for name in fmt.files}, cfg)
    enc = net.cfg.encoder
    keep, why = True, "it is not a library download"
    downloadable = enc.weights_layout == "torchvision"  # no library serves vgg_normalised
    if encoder == "library" and not downloadable:
        raise CheckpointError(
            f"--encoder library: no library download exists for the {enc.weights_layout} "
            "encoder; use --encoder auto or include"
        )
    if encoder == "library":
        keep, why = False, ""
    elif encoder == "auto" and downloadable:
        same, why = _library_encoder_equal(net)
        keep = not same
    # a kept encoder travels in the file (release_state_dict keeps encoders that are not library
    # downloads)
    net.cfg = dataclasses.replace(
        net.cfg, encoder=dataclasses.replace(enc, pretrained=not keep, weights_file="")
    )
    out = save_release(out, net, {"converted_from": source})
    print(
        f"wrote {out} (decoder{' + encoder: ' + why if keep else ''}; config from "
        f"{config or 'configs/' + fmt.preset})"
    )
    return out


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="python -m weights.convert",
        description=__doc__.split("\n")[0],
        epilog="where the files come from:\n"
        + "\n".join(f"  {name}: {f.origin}" for name, f in FORMATS.items()),
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        choices=list(FORMATS),
        help="the format of the input files",
    )
    p.add_argument("--checkpoint", type=Path, help="vit-notebook: the notebook's state dict (.pth)")
    p.add_argument("--vgg", type=Path, help="adain-release: vgg_normalised.pth")
    p.add_argument("--decoder", type=Path, help="adain-release: decoder.pth")
    p.add_argument(
        "--out", type=Path, required=True, help="the release file to write (.safetensors)"
    )
    p.add_argument(
        "--config",
        type=Path,
        help="experiment YAML with the model config (default: the format's preset, "
        + ", ".join(f"configs/{f.preset}" for f in FORMATS.values())
        + ")",
    )
    p.add_argument(
        "--encoder",
        choices=["auto", "include", "library"],
        default="auto",
        help="put the encoder's weights in the file: auto (when they differ from the library's "
        "pretrained ones or those cannot be read; vgg_normalised always), include, or library "
        "(never: infer.py then downloads the library's pretrained weights)",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        help="config overrides, e.g. model.encoder.name=vit_small_patch16_224",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    return run_command(convert, argv, (CheckpointError, PretrainedWeightsError, ConfigError))


if __name__ == "__main__":
    sys.exit(main())
