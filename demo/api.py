"""The web demo's `/stylize` endpoint: hidden components whose values are the parameters' defaults.

`client.view_api()` shows each parameter with its default and the docstring below with this
server's limits. Numbers come through `Raw` and text through gr.Textbox unconverted:
demo/inputs.py converts and checks them, so a wrong type is the demo's one-line message,
not gradio's generic one. The call runs through demo/serving.py, which `job.cancel()` or a
client that goes away stops.
"""

from __future__ import annotations

import gradio as gr

from demo import serving
from demo.limits import Budget
from demo.state import Demo, DemoError, Request
from demo.web import Raw, client_alive, prune_upload_leftovers
from inference.checks import allowed
from models.gatys import DEFAULT_STYLE_WEIGHT

API_DOC = """Stylize `content` with `style` (and `more_styles`, mixed by `style_weights`).

model: a label from the page's picker, or "optimize"; alpha: trained decoders only (0..2);
preserve_color: {colors}; size: short side of the output; steps, style_weight, scales (e.g.
"128,256"): the optimization only. Returns the stylized PNG. This server's limits: {limits}; a
request over one is refused with one line naming it.
"""


def add_api(demo: Demo, concurrency: int) -> None:
    """Add `/stylize` to the Blocks being built (`concurrency` model runs at a time, shared with
    the page's button through the concurrency id "model")."""
    lim = demo.limits
    with gr.Column(visible=False):
        params = {  # the API's parameter names, in order; their values are the defaults
            "content": gr.File(label="content", type="filepath"),
            "style": gr.File(label="style", type="filepath"),
            "alpha": Raw(1.0, label="alpha"),
            "model": gr.Textbox(demo.default, label="model"),
            "style_weights": gr.Textbox("", label="style_weights"),
            "preserve_color": gr.Textbox("none", label="preserve_color"),
            "size": Raw(min(512, lim.max_size), label="size", precision=0),
            "precision": gr.Textbox("fp32", label="precision"),
            "steps": Raw(min(100, lim.max_steps), label="steps", precision=0),
            "style_weight": Raw(DEFAULT_STYLE_WEIGHT, label="style_weight"),
            "scales": gr.Textbox("", label="scales"),
            "more_styles": gr.File([], label="more_styles", file_count="multiple", type="filepath"),
        }
        out = gr.File(label="stylized PNG")
        trigger = gr.Button(visible=False)

    async def stylize(style, more_styles, **values):
        req = Request(styles=[style, *(more_styles or [])], **values)
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
        inputs_kwargs=params,
        outputs=out,
        api_name="stylize",
        concurrency_id="model",
        concurrency_limit=concurrency,
    )
