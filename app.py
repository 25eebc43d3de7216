"""The web demo: upload a photo and a style, see the result (Gradio Blocks, on infer.py's code path).

    python app.py [--checkpoint FILE_OR_FOLDER ...] [--host 127.0.0.1] [--port 7860] [--weights random]

This file is the page only; inference/demo.py turns a click (or a `/stylize` API call) into InferOptions
and runs `inference.engine.Engine.stylize`, the call infer.py makes. The page works offline: analytics
off, system fonts instead of web fonts, and the frontend is served by the app itself.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from inference.demo import OPTIMIZE, RANDOM_BANNER, Demo, DemoError, Request, Step
from inference.discovery import discover_models
from models.gatys import DEFAULT_STYLE_WEIGHT
from models.registry import RegistryError, load_plugins

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read by gradio at import: no version check, no telemetry
import gradio as gr  # noqa: E402

N_STYLES = 3  # style slots on the page (the API takes any number)
IMAGE_SOURCES = ["upload", "clipboard", "webcam"]  # the browser offers the webcam only where it allows
CSS = "#banner { background: #fde68a; color: #713f12; padding: 4px 12px; border-radius: 6px; }"
# system fonts: no font file to fetch at all (gradio serves its bundled theme fonts itself, but a GoogleFont
# it does not bundle comes from fonts.googleapis.com, which an offline page waits for)
THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"])


class Upload(gr.Image):
    """gr.Image that hands the upload's path on undecoded: gradio's own preprocess opens it with Pillow and
    fails with a generic error on a non-image or a decompression bomb; media.images says what is wrong."""

    is_template = True  # rendered by gr.Image's frontend

    def preprocess(self, payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return super().preprocess(payload)
        return payload.path


def make_temp_root() -> Path:
    """One folder for every upload, gradio cache entry and result; removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="style-demo-"))
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")  # gradio's upload folder and cache, read per app
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def example_pairs(folder: str | Path, limit: int = 4) -> list[list[str]]:
    """[content, style] pairs from a `python -m data_prep.sample` folder's val splits ([] when absent)."""
    def files(side):
        split = Path(folder) / side / "val"
        return sorted(str(p) for p in split.glob("*.*")) if split.is_dir() else []
    return [[c, s] for c in files("content") for s in files("style")][:limit]


def _pixels(image) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8, what gr.Image shows."""
    return (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def build_app(demo: Demo, examples: list[list[str]] | None = None, concurrency: int = 1) -> gr.Blocks:
    """The page. Both the button and `/stylize` run `demo` (one model run at a time per `concurrency`)."""
    cancels: dict[str, threading.Event] = {}  # session -> the Cancel flag of its running request
    first = next(iter(demo.models), OPTIMIZE)
    random_app = demo.base.weights == "random"
    cap = demo.max_size
    with gr.Blocks(title="Style transfer demo", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown("## Arbitrary style transfer\nUpload a photo and a style (or pick an example), press Stylize.")
        banner = gr.Markdown(f"**⚠ {RANDOM_BANNER}**", visible=random_app, elem_id="banner")
        with gr.Row():
            with gr.Column():
                content = Upload(label="Content", type="filepath", sources=IMAGE_SOURCES, elem_id="content", height=240)
                styles = [Upload(label="Style", type="filepath", sources=IMAGE_SOURCES, elem_id="style1", height=240)]
                with gr.Accordion("Mix several styles", open=False):
                    with gr.Row():
                        styles += [Upload(label=f"Style {k + 1}", type="filepath", sources=IMAGE_SOURCES,
                                          elem_id=f"style{k + 1}", height=160) for k in range(1, N_STYLES)]
                    weights = [gr.Slider(0, 1, 1, step=0.05, label=f"weight of style {k + 1}")
                               for k in range(N_STYLES)]
                model = gr.Dropdown(demo.choices, value=first, label="Model", elem_id="model")
                alpha = gr.Slider(0, 1, 1, step=0.05, label="alpha (0: the content, 1: full style)", elem_id="alpha",
                                  visible=first != OPTIMIZE)
                preserve = gr.Radio(["none", "luminance", "covariance"], value="none", label="Preserve colours")
                size = gr.Slider(16, cap, min(512, cap), step=16, label=f"Output size (short side, long side <= {cap})",
                                 elem_id="size")
                precision = gr.Radio(demo.precisions, value="fp32", label="Precision")
                with gr.Group(visible=first == OPTIMIZE) as optimization:
                    steps = gr.Slider(1, 1000, 100, step=1, label="Steps (per scale)", elem_id="steps")
                    style_weight = gr.Number(DEFAULT_STYLE_WEIGHT, label="Style weight")
                    scales = gr.Textbox("", label="Coarse scales before the output size, e.g. 128,256")
                with gr.Row():
                    run = gr.Button("Stylize", variant="primary", elem_id="run")
                    cancel = gr.Button("Cancel", visible=False, elem_id="cancel")
            with gr.Column():
                result = gr.Image(label="Result", format="png", interactive=False, elem_id="result", height=360)
                compare = gr.ImageSlider(label="Before / after", format="png", interactive=False, height=360)
                download = gr.DownloadButton("Download PNG (full resolution)", visible=False, elem_id="download")
                status = gr.Markdown(elem_id="status")
        if examples:
            gr.Examples(examples, inputs=[content, styles[0]], label="Example pairs (content, style)")
        else:
            gr.Markdown("Example pairs appear here after `python -m data_prep.sample`.")

        def on_model(value):
            return gr.update(visible=value != OPTIMIZE), gr.update(visible=value == OPTIMIZE)

        model.change(on_model, model, [alpha, optimization], api_visibility="private")

        def stylize_page(values: dict, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (gradio's idiom)
            flag = cancels[request.session_hash] = threading.Event()
            given = [s for s in styles if values[s]]
            req = Request(values[content], [values[s] for s in given], model=values[model], alpha=values[alpha],
                          style_weights=[values[weights[styles.index(s)]] for s in given],
                          preserve_color=values[preserve], size=values[size], precision=values[precision],
                          steps=values[steps], style_weight=values[style_weight], scales=values[scales])
            yield {status: "running…", cancel: gr.update(visible=True), download: gr.update(visible=False)}
            try:
                for item in demo.stream(req, flag):
                    if isinstance(item, Step):
                        progress(item.step / item.total, desc=f"step {item.step} of {item.total}")
                        yield {result: _pixels(item.image), status: f"step {item.step} of {item.total}…"}
                        continue
                    png, (h, w) = str(item.path), item.image.shape[-2:]
                    notes = "".join(f"\n\n{note}" for note in item.notes)  # e.g. downscaled to the size cap
                    yield {result: png, compare: (_pixels(item.content), png),
                           status: f"{w}x{h} px in {item.seconds:.2f} s{notes}",
                           download: gr.update(value=png, visible=True), cancel: gr.update(visible=False),
                           banner: gr.update(visible=random_app or item.random_weights)}
            except DemoError as err:
                yield {status: f"⚠ {err}", cancel: gr.update(visible=False)}
            finally:
                cancels.pop(request.session_hash, None)

        inputs = {content, *styles, *weights, model, alpha, preserve, size, precision, steps, style_weight, scales}
        run.click(stylize_page, inputs, [result, compare, download, status, banner, cancel],
                  concurrency_id="model", concurrency_limit=concurrency, api_visibility="private")

        def cancel_page(request: gr.Request):
            if request.session_hash in cancels:
                cancels[request.session_hash].set()

        cancel.click(cancel_page, None, None, concurrency_limit=None, api_visibility="private")
        _api(demo, first, concurrency)
    return app


def _api(demo: Demo, first: str, concurrency: int) -> None:
    """`/stylize`: hidden components whose values are the parameters' defaults (gradio_client shows them)."""
    with gr.Column(visible=False):
        params = [gr.File(label="content", type="filepath"), gr.File(label="style", type="filepath"),
                  gr.Number(1.0, label="alpha"), gr.Textbox(first, label="model"),
                  gr.Textbox("", label="style_weights"),
                  gr.Textbox("none", label="preserve_color"), gr.Number(512, label="size", precision=0),
                  gr.Textbox("fp32", label="precision"), gr.Number(100, label="steps", precision=0),
                  gr.Number(DEFAULT_STYLE_WEIGHT, label="style_weight"), gr.Textbox("", label="scales"),
                  gr.File(label="more_styles", file_count="multiple", type="filepath")]
        out = gr.File(label="stylized PNG")
        trigger = gr.Button(visible=False)

    def stylize(content, style, alpha, model, style_weights, preserve_color, size, precision, steps, style_weight,
                scales, more_styles=None):
        """Stylize `content` with `style` (and `more_styles`, mixed by `style_weights`, e.g. "0.3,0.7").

        model: a checkpoint label from the page's picker, or "optimize"; alpha: trained decoders only;
        preserve_color: none | luminance | covariance; size: short side of the output; steps, style_weight,
        scales (e.g. "128,256"): the optimization only. Returns the stylized PNG.
        """
        try:
            weights = [float(w) for w in style_weights.replace(",", " ").split()] or None
        except ValueError:
            raise gr.Error(f"style_weights must be numbers separated by commas, got '{style_weights}'") from None
        req = Request(content, [style, *(more_styles or [])], model, alpha, weights,
                      preserve_color, size, precision, steps, style_weight, scales)
        try:
            result = demo.run(req)
        except DemoError as err:
            raise gr.Error(str(err), print_exception=False) from None
        for note in result.notes:  # e.g. "downscaled to the size cap": clients see it in the job's log
            gr.Warning(note)
        return str(result.path)

    trigger.click(stylize, params, out, api_name="stylize", concurrency_id="model", concurrency_limit=concurrency)


def serve(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, concurrency: int = 1,
          block: bool = True) -> str:
    """Queue and launch; returns the local URL. `block=False` returns at once (tests)."""
    app.queue(default_concurrency_limit=concurrency)
    _, url, _ = app.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block,
                           theme=THEME, css=CSS, ssr_mode=False, footer_links=["api"], max_file_size="50mb",
                           show_error=False)
    return url


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", nargs="+", default=["runs"],
                   help="release files, step folders, or folders to search for both")
    # gradio's own variables are the defaults: a Hugging Face Space sets GRADIO_SERVER_NAME=0.0.0.0
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="0.0.0.0 to serve the local network")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    p.add_argument("--weights", default="pretrained", help="pretrained | random (offline smoke runs) | PATH")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--max-size", type=int, default=1024, help="cap on the long side of every image")
    p.add_argument("--concurrency", type=int, default=1, help="model runs at a time; other requests queue")
    p.add_argument("--examples", default="data/sample", help="a `python -m data_prep.sample` folder")
    p.add_argument("--plugins", nargs="+", default=[], metavar="FILE|MODULE",
                   help="the plugins your checkpoints' transforms, encoders or decoders come from")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins(args.plugins)
    except RegistryError as err:
        print(f"error: --plugins: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the temp folder is removed (atexit)
    root = make_temp_root()
    models = discover_models(args.checkpoint)
    demo = Demo(models, root / "results", args.weights, args.max_size, args.device)
    print(f"models: {', '.join(models) or 'none found (the optimization only)'}; temp folder {root}", flush=True)
    app = build_app(demo, example_pairs(args.examples), args.concurrency)
    serve(app, args.host, args.port, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
