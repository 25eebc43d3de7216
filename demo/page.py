"""The web demo's page: its layout, its Stylize and Cancel buttons, and how it is served.

The button runs demo/state.py through demo/serving.py, streaming the optimization's
steps; Cancel sets the request's stop flag. The page works offline: analytics off, system fonts
instead of web fonts, the frontend served by the app itself. Example pairs show as inline
thumbnails (demo/web.py `Upload`), so the page's config names no server path.
"""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
import numpy as np

from demo import serving
from demo.api import add_api
from demo.limits import Budget
from demo.state import OPTIMIZE, RANDOM_BANNER, Demo, DemoError, Request, Step
from demo.web import Upload, client_alive, prune_upload_leftovers
from inference.checks import allowed
from models.gatys import DEFAULT_STYLE_WEIGHT

IMAGE_SOURCES = ["upload", "clipboard", "webcam"]  # the browser offers the webcam where it allows
CSS = "#banner { background: #fde68a; color: #713f12; padding: 4px 12px; border-radius: 6px; }"
# system fonts: no font file to fetch at all (gradio serves its bundled theme fonts itself, but a
# GoogleFont it does not bundle comes from fonts.googleapis.com, which an offline page waits for)
THEME = gr.themes.Default(
    font=["system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"],
)


def example_pairs(folder: str | Path, limit: int = 4) -> list[list[str]]:
    """[content, style] pairs of a `python -m data_prep.sample` folder's val splits ([] if none)."""

    def files(side):
        split = Path(folder) / side / "val"
        return sorted(str(p) for p in split.glob("*.*")) if split.is_dir() else []

    return [[c, s] for c in files("content") for s in files("style")][:limit]


def _pixels(image) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8, what gr.Image shows."""
    return (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def _inputs(demo: Demo) -> dict:
    """The page's input column; returns its components by name (Request's field names)."""
    lim, cap, ui, first = demo.limits, demo.limits.max_size, {}, demo.default
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
    ui["preserve_color"] = gr.Radio(
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
    with gr.Blocks(
        title="Style transfer demo", analytics_enabled=False, delete_cache=(600, 3600)
    ) as app:
        gr.Markdown(
            "## Arbitrary style transfer\n"
            "Upload a photo and a style (or pick an example), press Stylize."
        )
        banner = gr.Markdown(
            f"**⚠ {RANDOM_BANNER}**",
            visible=bool(demo.random_reason(demo.default)),
            elem_id="banner",
        )
        with gr.Row():
            with gr.Column():
                ui = _inputs(demo)
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
        inputs = {k: c for k, c in ui.items() if isinstance(c, gr.components.Component)}
        if examples:
            # cache_examples=False: a Space's GRADIO_CACHE_EXAMPLES has no function to cache
            gr.Examples(
                examples,
                inputs=[ui["content"], styles[0]],
                label="Example pairs (content, style)",
                cache_examples=False,
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
            given = [k for k, s in enumerate(styles) if values[s]]
            req = Request(
                styles=[values[styles[k]] for k in given],
                style_weights=[values[weights[k]] for k in given],
                **{k: values[c] for k, c in inputs.items()},
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

        run.click(
            stylize_page,
            {*inputs.values(), *styles, *weights},
            [result, compare, download, status, banner, cancel],
            concurrency_id="model",
            concurrency_limit=concurrency,
            api_visibility="private",
        )

        def cancel_page(request: gr.Request):
            if request.session_hash in cancels:
                cancels[request.session_hash].set()

        cancel.click(cancel_page, None, None, concurrency_limit=None, api_visibility="private")
        add_api(demo, concurrency)
    return app


def serve(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    concurrency: int = 1,
    block: bool = True,
) -> str:
    """Queue and launch; returns the local URL. `block=False` returns at once (tests).

    Gradio's own start-up lines are silenced: they advise `share=True` in `launch()`, which this
    command has no flag for (a public link is a Hugging Face Space's job); one line names the URL.
    """
    app.queue(default_concurrency_limit=concurrency)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        theme=THEME,
        css=CSS,
        ssr_mode=False,
        footer_links=["api"],
        max_file_size="50mb",
        show_error=False,
    )
    if block:
        print(f"serving {url} (Ctrl-C stops it)", flush=True)
        app.block_thread()
    return url
