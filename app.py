"""The web demo: upload a photo and a style, see the result (Gradio Blocks, infer.py's code path).

    python app.py [--checkpoint FILE_OR_FOLDER ...] [--host 127.0.0.1] [--port 7860]
                  [--weights random] [--max-size 1024] [--max-steps 1000] [--max-scales 3]
                  [--max-styles 3] [--max-megapixels 50] [--time-limit 300]

This file is the page only; inference/demo.py turns a click (or a `/stylize` API call) into
InferOptions and runs `inference.engine.Engine.stylize`, the call infer.py makes;
inference/serving.py runs it in a thread that Cancel, `job.cancel()` or a client going away stops.
The per-request limits (inference/limits.py) are the same for the page and the API; each is a flag
here, or a DEMO_<FLAG> environment variable (a Hugging Face Space runs `python app.py` bare). The
page works offline: analytics off, system fonts instead of web fonts, the frontend served locally.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from configs.cli import ArgumentParser
from configs.device import resolve_device
from configs.plugins import load_plugins
from inference import serving
from inference.checks import allowed
from inference.demo import OPTIMIZE, RANDOM_BANNER, Demo, DemoError, Request, Step
from inference.discovery import discover_models
from inference.limits import Budget, Limits
from inference.web import Raw, Upload, client_alive, make_temp_root, prune_upload_leftovers
from models.gatys import DEFAULT_STYLE_WEIGHT
from models.registry import RegistryError

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read by gradio at import: no telemetry
import gradio as gr  # noqa: E402

IMAGE_SOURCES = ["upload", "clipboard", "webcam"]  # the browser offers the webcam where it allows
CSS = "#banner { background: #fde68a; color: #713f12; padding: 4px 12px; border-radius: 6px; }"
# system fonts: no font file to fetch at all (gradio serves its bundled theme fonts itself, but a
# GoogleFont it does not bundle comes from fonts.googleapis.com, which an offline page waits for)
THEME = gr.themes.Default(
    font=["system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"],
)
API_DOC = """Stylize `content` with `style` (and `more_styles`, mixed by `style_weights`).

model: a label from the page's picker, or "optimize"; alpha: trained decoders only (0..2);
preserve_color: {colors}; size: short side of the output; steps, style_weight, scales (e.g.
"128,256"): the optimization only. Returns the stylized PNG. This server's limits: {limits}; a
request over one is refused with one line naming it.
"""


def example_pairs(folder: str | Path, limit: int = 4) -> list[list[str]]:
    """[content, style] pairs of a `python -m data_prep.sample` folder's val splits ([] if none)."""

    def files(side):
        split = Path(folder) / side / "val"
        return sorted(str(p) for p in split.glob("*.*")) if split.is_dir() else []

    return [[c, s] for c in files("content") for s in files("style")][:limit]


def _pixels(image) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8, what gr.Image shows."""
    return (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def _inputs(demo: Demo, first: str) -> dict:
    """The page's input column; returns its components by name."""
    lim, cap, ui = demo.limits, demo.limits.max_size, {}
    kw = dict(type="filepath", sources=IMAGE_SOURCES)
    ui["content"] = Upload(label="Content", elem_id="content", height=240, **kw)
    ui["styles"] = [Upload(label="Style", elem_id="style1", height=240, **kw)]
    with gr.Accordion("Mix several styles", open=False):
        with gr.Row():
            ui["styles"] += [
                Upload(label=f"Style {k + 1}", elem_id=f"style{k + 1}", height=160, **kw)
                for k in range(1, lim.max_styles)
            ]
        ui["weights"] = [
            gr.Slider(0, 1, 1, step=0.05, label=f"weight of style {k + 1}")
            for k in range(lim.max_styles)
        ]
    ui["model"] = gr.Dropdown(demo.choices, value=first, label="Model", elem_id="model")
    ui["alpha"] = gr.Slider(
        0,
        1,
        1,
        step=0.05,
        label="alpha (0: the content, 1: full style)",
        elem_id="alpha",
        visible=first != OPTIMIZE,
    )
    ui["preserve"] = gr.Radio(
        list(allowed("preserve_color")), value="none", label="Preserve colours"
    )
    ui["size"] = gr.Slider(
        16,
        cap,
        min(512, cap),
        step=16,
        elem_id="size",
        label=f"Output size (short side, long side <= {cap})",
    )
    ui["precision"] = gr.Radio(demo.precisions, value="fp32", label="Precision")
    with gr.Group(visible=first == OPTIMIZE) as ui["optimization"]:
        ui["steps"] = gr.Slider(
            1,
            lim.max_steps,
            min(100, lim.max_steps),
            step=1,
            label="Steps (per scale)",
            elem_id="steps",
        )
        ui["style_weight"] = gr.Number(DEFAULT_STYLE_WEIGHT, label="Style weight")
        ui["scales"] = gr.Textbox(
            "",
            label=f"Coarse scales before the output size, e.g. 128,256 (at most {lim.max_scales})",
        )
    return ui


def build_app(
    demo: Demo, examples: list[list[str]] | None = None, concurrency: int = 1
) -> gr.Blocks:
    """The page. The button and `/stylize` run `demo` (`concurrency` model runs at a time)."""
    cancels: dict[str, threading.Event] = {}  # session -> the Cancel flag of its running request
    first = demo.default
    with gr.Blocks(
        title="Style transfer demo", analytics_enabled=False, delete_cache=(600, 3600)
    ) as app:
        gr.Markdown(
            "## Arbitrary style transfer\n"
            "Upload a photo and a style (or pick an example), press Stylize."
        )
        banner = gr.Markdown(
            f"**⚠ {RANDOM_BANNER}**", visible=bool(demo.random_reason(first)), elem_id="banner"
        )
        with gr.Row():
            with gr.Column():
                ui = _inputs(demo, first)
                with gr.Row():
                    run = gr.Button("Stylize", variant="primary", elem_id="run")
                    cancel = gr.Button("Cancel", visible=False, elem_id="cancel")
            with gr.Column():
                result = gr.Image(
                    label="Result", format="png", interactive=False, elem_id="result", height=360
                )
                compare = gr.ImageSlider(
                    label="Before / after", format="png", interactive=False, height=360
                )
                download = gr.DownloadButton(
                    "Download PNG (full resolution)", visible=False, elem_id="download"
                )
                status = gr.Markdown(elem_id="status")
        styles, weights = ui["styles"], ui["weights"]
        if examples:
            gr.Examples(
                examples, inputs=[ui["content"], styles[0]], label="Example pairs (content, style)"
            )
        else:
            gr.Markdown("Example pairs appear here after `python -m data_prep.sample`.")

        def on_model(value):
            return (
                gr.update(visible=value != OPTIMIZE),
                gr.update(visible=value == OPTIMIZE),
                gr.update(visible=bool(demo.random_reason(value))),
            )

        ui["model"].change(
            on_model,
            ui["model"],
            [ui["alpha"], ui["optimization"], banner],
            api_visibility="private",
        )

        async def stylize_page(values: dict, request: gr.Request, progress=gr.Progress()):  # noqa: B008
            flag = cancels[request.session_hash] = threading.Event()
            given = [s for s in styles if values[s]]
            v = {k: values[c] for k, c in ui.items() if isinstance(c, gr.components.Component)}
            req = Request(
                v["content"],
                [values[s] for s in given],
                v["model"],
                v["alpha"],
                [values[weights[styles.index(s)]] for s in given],
                v["preserve"],
                v["size"],
                v["precision"],
                v["steps"],
                v["style_weight"],
                v["scales"],
            )
            yield {
                status: "running…",
                cancel: gr.update(visible=True),
                download: gr.update(visible=False),
            }
            budget = Budget(demo.limits.time_limit, flag)
            try:
                async for item in serving.stream(demo, req, budget, client_alive()):
                    if isinstance(item, Step):
                        progress(item.step / item.total, desc=f"step {item.step} of {item.total}")
                        yield {
                            result: _pixels(item.image),
                            status: f"step {item.step} of {item.total}…",
                        }
                        continue
                    png, (h, w) = str(item.path), item.image.shape[-2:]
                    notes = "".join(f"\n\n{note}" for note in item.notes)  # e.g. downscaled
                    yield {
                        result: png,
                        compare: (_pixels(item.content), png),
                        status: f"{w}x{h} px in {item.seconds:.2f} s{notes}",
                        download: gr.update(value=png, visible=True),
                        cancel: gr.update(visible=False),
                        banner: gr.update(visible=item.random_weights),
                    }
            except DemoError as err:
                yield {status: f"⚠ {err}", cancel: gr.update(visible=False)}
            finally:
                cancels.pop(request.session_hash, None)
                prune_upload_leftovers()

        inputs = {c for k, c in ui.items() if isinstance(c, gr.components.Component)}
        run.click(
            stylize_page,
            inputs | {*styles, *weights},
            [result, compare, download, status, banner, cancel],
            concurrency_id="model",
            concurrency_limit=concurrency,
            api_visibility="private",
        )

        def cancel_page(request: gr.Request):
            if request.session_hash in cancels:
                cancels[request.session_hash].set()

        cancel.click(cancel_page, None, None, concurrency_limit=None, api_visibility="private")
        _api(demo, first, concurrency)
    return app


def _api(demo: Demo, first: str, concurrency: int) -> None:
    """`/stylize`: hidden components whose values are the parameters' defaults (see view_api).

    Numbers come through `Raw`, text through gr.Textbox, unconverted: Demo.options converts, checks.
    """
    lim = demo.limits
    with gr.Column(visible=False):
        params = [
            gr.File(label="content", type="filepath"),
            gr.File(label="style", type="filepath"),
            Raw(1.0, label="alpha"),
            gr.Textbox(first, label="model"),
            gr.Textbox("", label="style_weights"),
            gr.Textbox("none", label="preserve_color"),
            Raw(min(512, lim.max_size), label="size", precision=0),
            gr.Textbox("fp32", label="precision"),
            Raw(min(100, lim.max_steps), label="steps", precision=0),
            Raw(DEFAULT_STYLE_WEIGHT, label="style_weight"),
            gr.Textbox("", label="scales"),
            gr.File(label="more_styles", file_count="multiple", type="filepath"),
        ]
        out = gr.File(label="stylized PNG")
        trigger = gr.Button(visible=False)

    async def stylize(
        content,
        style,
        alpha,
        model,
        style_weights,
        preserve_color,
        size,
        precision,
        steps,
        style_weight,
        scales,
        more_styles=None,
    ):
        req = Request(
            content,
            [style, *(more_styles or [])],
            model,
            alpha,
            style_weights,
            preserve_color,
            size,
            precision,
            steps,
            style_weight,
            scales,
        )
        try:
            budget = Budget(demo.limits.time_limit)  # read per call: tests lower it
            result = await serving.run(demo, req, budget, client_alive())
        except DemoError as err:
            raise gr.Error(str(err), print_exception=False) from None
        finally:
            prune_upload_leftovers()
        for note in result.notes:  # e.g. "downscaled to the size cap": in the job's log
            gr.Warning(note)
        return str(result.path)

    colors = " | ".join(allowed("preserve_color"))
    stylize.__doc__ = API_DOC.format(colors=colors, limits=lim.describe())
    trigger.click(
        stylize,
        params,
        out,
        api_name="stylize",
        concurrency_id="model",
        concurrency_limit=concurrency,
    )


def serve(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    concurrency: int = 1,
    block: bool = True,
) -> str:
    """Queue and launch; returns the local URL. `block=False` returns at once (tests)."""
    app.queue(default_concurrency_limit=concurrency)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        quiet=not block,
        theme=THEME,
        css=CSS,
        ssr_mode=False,
        footer_links=["api"],
        max_file_size="50mb",
        show_error=False,
    )
    return url


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
        default=["runs"],
        help="release files, step folders, or folders to search for both",
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
    p.add_argument(
        "--device",
        default="auto",
        help="auto (cuda when available) or a torch device: cpu, cuda, cuda:1",
    )
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
    app = build_app(demo, example_pairs(args.examples), args.concurrency)
    serve(app, args.host, args.port, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
