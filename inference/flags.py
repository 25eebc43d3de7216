"""infer.py's flags: every option of InferOptions on the command line, with help and one default.

The choices of --transform, --style-loss and --feature-net are the registered names, read when the
parser is built (inference/api.py parse_args imports --plugins first: a plugin's names are
choices too).
"""

from __future__ import annotations

import argparse

from configs.cli import ArgumentParser
from inference.checks import CheckError, numbers
from inference.options import InferOptions
from models.registry import FEATURE_NETS, STYLE_LOSSES, TRANSFORMS
from weights.checkpoint import SPECS_HELP

DESCRIPTION = (
    "Stylize images and clips with a trained decoder (--checkpoint) or the per-image optimization "
    "(--method optimize)."
)


def _floats(text: str, integer: bool = False) -> list[float]:
    """Comma-separated finite numbers (inference/checks.py, the parser the web demo uses too)."""
    try:
        return list(numbers("value", text, integer=integer))
    except CheckError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _ints(text: str) -> list[int]:
    return _floats(text, integer=True)


EPILOG = """output names (in --out):
  <content>__<style>.png                 one content, one style
  ...__a0.5                              alpha (when not 1, or several --alpha values)
  <content>__mix-<s1>-<s2>__w0.3-0.7     --style-weights: one mix of all styles
  <content>__mask-<s1>-<s2>__m<mask>     --mask: region k takes style k
  <content>__domain-<folder>             --style-domain: the pooled style of a folder
  ...__opt-<hash>                        --method optimize (hash of its settings)
  ...__<transform>                       --transform (wct, efdm, mean, std, adain)
  ...__lum / ...__cov                    --preserve-color luminance / covariance
  <clip>__<style>.mp4 (+ ..._frames/)   a video content (--frames: its PNG frames in the folder)
  Names keep letters (any script), digits and ._- ; colliding inputs get their extension, folders
  or a short hash appended. An existing output is an error unless --overwrite or --skip-existing.

exit codes: 0 every pair written; 1 some inputs failed (each listed on stderr with its reason, the
others written); 2 the run could not start (bad flags, missing paths, unreadable checkpoint)."""

_D = InferOptions(content=(), style=())  # the defaults live in the dataclass; the flags show them


def build_parser() -> argparse.ArgumentParser:
    """The flags; the choices of --transform, --style-loss and --feature-net are the registered
    names (load --plugins first: `parse_args` does)."""
    p = ArgumentParser(description=DESCRIPTION, epilog=EPILOG)
    add = p.add_argument
    add(
        "--plugins",
        nargs="+",
        default=[],
        metavar="FILE|MODULE",
        help="your own transforms, style losses, encoders or decoders (a .py file or a module)",
    )
    add("--content", nargs="+", required=True, help="content files, folders or globs")
    add(
        "--style",
        nargs="+",
        default=[],
        help="style files, folders, globs or statistics files (.safetensors)",
    )
    add(
        "--style-domain",
        help="a folder of style images pooled into ONE style (e.g. a whole anime set)",
    )
    add(
        "--save-style",
        help="with --style-domain: save the pooled statistics to this .safetensors file",
    )
    add("--out", default=_D.out, help="output folder")
    add(
        "--method",
        choices=["decoder", "optimize"],
        default=None,
        help="default: decoder with --checkpoint",
    )
    add(
        "--checkpoint",
        help=f"release .safetensors, a run/step/hub folder, .pth/.pt with --config, {SPECS_HELP}",
    )
    add("--config", help="experiment YAML giving the model config for plain .pth checkpoints")
    add(
        "--weights",
        default=_D.weights,
        help="pretrained | random (offline smoke runs) | hed (HED's VGG16, offline) | PATH, for "
        "the optimization's feature net and an encoder the checkpoint does not hold",
    )
    add(
        "--alpha",
        type=_floats,
        default=list(_D.alpha),
        help=(
            "content-style trade-off, one value or a list 0,0.5,1; up to 2 "
            "extrapolates past the style"
        ),
    )
    add(
        "--transform",
        choices=list(TRANSFORMS),
        default=None,
        help="feature transform (default: the one the checkpoint was trained with)",
    )
    add("--style-weights", type=_floats, help="mix all styles with these weights, e.g. 0.3,0.7")
    add(
        "--mask", help="label image: each distinct color (sorted) is a region taking the next style"
    )
    add(
        "--preserve-color",
        choices=["none", "luminance", "covariance"],
        default=_D.preserve_color,
        help="keep the content's colors: luminance-only transfer, or the style recolored first",
    )
    add("--size", type=int, help="short side of the content (aspect kept)")
    add("--max-size", type=int, help="cap on the long side")
    add("--style-size", type=int, help="short side of the styles (default: --size)")
    add("--upscale", action="store_true", help="allow enlarging images smaller than --size")
    add("--format", choices=["png", "jpg"], default=_D.format, help="output image format")
    add("--grid", action="store_true", help="also write OUT/grid.png, a content x style sheet")
    add(
        "--device",
        default=_D.device,
        help="auto (cuda when available) or a torch device: cpu, cuda, cuda:1",
    )
    add(
        "--precision",
        choices=["fp32", "fp16", "bf16"],
        default=_D.precision,
        help="fp16: CUDA only (the fast choice on a T4); bf16: CPUs with AVX-512 BF16/AMX and "
        "GPUs of compute capability >= 8.0 (emulated and slow elsewhere: a warning says so); "
        "--method optimize runs in fp32 or bf16 (fp16 gradients of its normalized losses "
        "underflow)",
    )
    add(
        "--batch-size",
        type=int,
        default=_D.batch_size,
        help="contents of equal size per forward pass",
    )
    add("--seed", type=int, default=_D.seed, help="random seed (noise init, random weights)")
    add(
        "--skip-existing",
        action="store_true",
        help="keep outputs that already exist (do not recompute them)",
    )
    add(
        "--overwrite",
        action="store_true",
        help="replace outputs that already exist (default: refuse to start)",
    )
    add(
        "--tile-size",
        type=int,
        default=_D.tile_size,
        help="tile images whose long side exceeds this (0: never)",
    )
    add(
        "--tile-overlap",
        type=int,
        default=_D.tile_overlap,
        help="pixels shared by neighbouring tiles",
    )
    add(
        "--no-channels-last",
        dest="channels_last",
        action="store_false",
        help="run NCHW instead of NHWC",
    )
    add(
        "--backend",
        choices=["pytorch", "onnxruntime"],
        default=_D.backend,
        help=(
            "onnxruntime: --checkpoint is a folder written by python "
            "export.py --out DIR (CPU, fp32)"
        ),
    )
    v = p.add_argument_group(
        "video contents (.mp4, .mov, .mkv, ...: written as <content>__<style>.mp4)"
    )
    v.add_argument(
        "--temporal",
        choices=["off", "stats", "flow"],
        default=_D.temporal,
        help="flicker remedy: frames' colour statistics smoothed over time, or the previous frame "
        "warped by optical flow; with --method optimize, flow = Ruder et al.'s init + temporal "
        "loss",
    )
    v.add_argument(
        "--temporal-weight",
        type=float,
        default=_D.temporal_weight,
        help="--method optimize: weight of the short-term temporal loss",
    )
    v.add_argument("--frames", action="store_true", help="also write every stylized frame as PNG")
    v.add_argument("--crf", type=int, default=_D.crf, help="H.264 quality (lower: better, larger)")
    v.add_argument("--bit-rate", type=int, default=None, help="bits/s instead of --crf")
    g = p.add_argument_group("optimization (--method optimize)")
    g.add_argument(
        "--optimizer", choices=["adam", "lbfgs"], default=_D.optimizer, help="pixel optimizer"
    )
    g.add_argument(
        "--steps",
        type=_ints,
        default=list(_D.steps),
        help="steps per scale (one value or one per scale)",
    )
    g.add_argument("--lr", type=float, default=_D.lr, help="0: 0.02 for adam, 1.0 for lbfgs")
    g.add_argument(
        "--init",
        choices=["content", "noise", "content+noise"],
        default=_D.init,
        help="the starting image",
    )
    g.add_argument(
        "--content-weight", type=float, default=_D.content_weight, help="weight of the content loss"
    )
    g.add_argument(
        "--style-weight", type=float, default=None, help="default models.gatys.DEFAULT_STYLE_WEIGHT"
    )
    g.add_argument(
        "--tv-weight", type=float, default=None, help="default models.gatys.DEFAULT_TV_WEIGHT"
    )
    g.add_argument(
        "--style-loss",
        choices=list(STYLE_LOSSES),
        default=_D.style_loss,
        help="style statistic matched",
    )
    g.add_argument(
        "--feature-net",
        choices=list(FEATURE_NETS),
        default=_D.feature_net,
        help="network whose features the losses compare",
    )
    g.add_argument(
        "--scales", type=_ints, default=[], help="coarse-to-fine short sides, e.g. 256,512"
    )
    g.add_argument(
        "--save-every",
        type=int,
        default=_D.save_every,
        help="write intermediate images + loss log every N",
    )
    return p
