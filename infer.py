"""Stylize images with a trained decoder (--checkpoint) or the per-image optimization (--method \
optimize).

    python infer.py --checkpoint release.safetensors --content photos/ --style art/ --out out/
    python infer.py --method optimize --content a.jpg --style b.jpg --steps 300 --out out/

Every content is stylized with every style (folders x folders), or with the weighted mix of all
styles (--style-weights), or region by region (--mask). `stylize(options)` (inference/api.py, the
library call: plugins loaded once, options checked once and passed down) does the work and returns
a summary; main prints it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from configs.schema import ConfigError
from inference.api import load_plugins_once, options, parse_args, stylize  # noqa: F401 (infer.X)
from inference.flags import build_parser  # noqa: F401 (infer.build_parser: the CLI's parser)
from inference.options import InferError
from media.images import ImageReadError
from models.pretrained import PretrainedWeightsError
from runtime.allocator import keep_freed_memory
from weights.checkpoint import CheckpointError

WEIGHTS_HINT = (
    "or pass --weights PATH (a local weights file), or --weights random (smoke runs only)"
)


def main(argv: list[str] | None = None) -> int:
    # a CLI run is one short-lived process: reuse freed activations (runtime/allocator.py)
    keep_freed_memory()
    try:
        # the flags' choices need the plugins: parse inside the try
        summary = stylize(sys.argv[1:] if argv is None else argv)
    except PretrainedWeightsError as err:
        print(f"error: {err}; {WEIGHTS_HINT}", file=sys.stderr)
        return 2
    except (InferError, CheckpointError, ConfigError, ImageReadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for item in summary["ignored"]:
        print(f"ignored: {item['path']}: {item['reason']}", file=sys.stderr)
    for fail in summary["failed"]:
        print(f"failed: {fail['path']}: {fail['error']}", file=sys.stderr)
    written = [
        p for p in summary["written"] if Path(p).is_file()
    ]  # count files that exist, not attempts
    print(
        f"written {len(written)} to {summary['out']}, skipped {len(summary['skipped'])}, failed "
        f"{len(summary['failed'])}, ignored {len(summary['ignored'])}"
        + (f"; grid {summary['grid']}" if summary.get("grid") else "")
    )
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
