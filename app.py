"""The web demo: upload a photo and a style, see the result (Gradio Blocks, infer.py's code path).

    python app.py [--checkpoint FILE_OR_FOLDER ...] [--host 127.0.0.1] [--port 7860]
                  [--weights random] [--max-size 1024] [--max-steps 1000] [--max-scales 3]
                  [--max-styles 3] [--max-megapixels 50] [--time-limit 300]

This file is the command line: it finds the checkpoints (demo/picker.py), builds the `Demo`
(demo/state.py, which runs `inference.engine.Engine.stylize`, the call infer.py makes), lays out the
page (demo/page.py, with the `/stylize` API of demo/api.py) and serves it. The per-request limits
(demo/limits.py) are the same for the page and the API; each is a flag here, or a DEMO_<FLAG>
environment variable (a Hugging Face Space runs `python app.py` bare).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys

from configs.cli import ArgumentParser, add_device_flag
from configs.plugins import load_plugins
from demo.limits import Limits
from demo.page import build_app, example_pairs, serve
from demo.picker import discover_models
from demo.state import Demo
from demo.web import make_temp_root
from models.registry import RegistryError
from runtime.device import resolve_device

LIMIT_HELP = {
    "max_size": "limit on a request's size and cap on every image's long side (px)",
    "max_steps": "limit on optimization steps per scale",
    "max_scales": "limit on coarse optimization scales",
    "max_styles": "limit on styles mixed in one request (the page's style slots)",
    "max_megapixels": "limit on an upload's pixels, read from its header before decoding",
    "time_limit": "seconds of computation per request; longer ones are stopped",
}


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint",
        nargs="+",
        default=["hed-adain", "runs"],
        help="release files, step folders, or folders to search for both (default: the release "
        "shipped in this repo, hed-adain, and your runs/)",
    )
    # gradio's own variables are the defaults: a Hugging Face Space sets GRADIO_SERVER_NAME=0.0.0.0
    p.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="0.0.0.0 to serve the local network",
    )
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
        help="the port to serve",
    )
    p.add_argument(
        "--weights", default="pretrained", help="pretrained | random (offline smoke runs) | PATH"
    )
    add_device_flag(p)
    for f in dataclasses.fields(Limits):  # DEMO_MAX_STEPS=200 etc.: a Space's variables
        default = getattr(Limits, f.name)
        env = os.environ.get(f"DEMO_{f.name.upper()}")
        kind = type(default)
        p.add_argument(
            Limits.FLAGS[f.name],
            type=kind,
            default=kind(env) if env else default,
            help=LIMIT_HELP[f.name] + f" (env DEMO_{f.name.upper()})",
        )
    p.add_argument(
        "--concurrency", type=int, default=1, help="model runs at a time; other requests queue"
    )
    p.add_argument(
        "--examples", default="data/sample", help="a `python -m data_prep.sample` folder"
    )
    p.add_argument(
        "--plugins",
        nargs="+",
        default=[],
        metavar="FILE|MODULE",
        help="the plugins your checkpoints' transforms, encoders or decoders come from",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        resolve_device(args.device)  # a bad --device: one line now, not a traceback per request
    except ValueError as err:
        parser.error(str(err))
    try:
        load_plugins(args.plugins)
    except RegistryError as err:
        print(f"error: --plugins: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the temp folder is removed (atexit)
    root = make_temp_root()
    models = discover_models(args.checkpoint)
    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    demo = Demo(models, root / "results", args.weights, limits, args.device)
    found = ", ".join(models) or "none found (the optimization only)"
    print(
        f"models: {found}; default {demo.default}; limits: {limits.describe()}; temp folder {root}",
        flush=True,
    )
    page = build_app(demo, example_pairs(args.examples), args.concurrency)
    serve(page, args.host, args.port, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
