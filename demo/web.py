"""The web demo's gradio glue: inputs that hand values on unconverted, the temp folder, disconnects.

demo/page.py and demo/api.py build the page and the API with these;
demo/state.py never imports gradio.
"""

from __future__ import annotations

import atexit
import base64
import io
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from media.images import ImageReadError, read_image

# read whenever gradio makes a Blocks or launches: no version check, no telemetry
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402

log = logging.getLogger(__name__)
UPLOAD_LEFTOVER_TTL = 60  # s: then the empty file gradio's upload parser leaves per upload goes
THUMBNAIL = 160  # px: the long side of an example's thumbnail in the page


class Raw(gr.Number):
    """gr.Number that hands the API's value on as sent (text, a list, None): inference/checks.py
    converts and checks it with the demo's one-line message, not gradio's generic error."""

    is_template = True  # rendered by gr.Number's frontend

    def preprocess(self, payload):
        return payload


class Upload(gr.Image):
    """gr.Image that hands the upload's path on undecoded: gradio's own preprocess opens it with
    Pillow and fails with a generic error on a non-image or a decompression bomb; media.images says
    what is wrong (and refuses too many pixels from the header)."""

    is_template = True  # rendered by gr.Image's frontend

    def preprocess(self, payload):
        if payload is None or (payload.url or "").startswith("data:"):
            return super().preprocess(payload)
        return payload.path

    def process_example(self, value):
        """An example file as an inline thumbnail: gradio's default is a copy in its cache whose
        URL (`/gradio_api/file=/tmp/...`) puts the server's temp folder into the page's /config.
        Clicking the example still loads the file itself (gradio's server-side example event)."""
        if not isinstance(value, (str, Path)):
            return super().process_example(value)
        try:
            return {"url": thumbnail_url(value), "orig_name": Path(value).name}
        except ImageReadError as err:  # an empty cell; the run says what is wrong with the file
            log.warning("example %s has no thumbnail: %s", Path(value).name, err.reason)
            return None


def thumbnail_url(path: str | Path, side: int = THUMBNAIL) -> str:
    """A `data:` URL of the image at `path`, its long side at most `side` px (JPEG)."""
    img = read_image(path)
    img.thumbnail((side, side))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def make_temp_root() -> Path:
    """One folder for every upload, gradio cache entry and result; removed at exit."""
    root = Path(tempfile.mkdtemp(prefix="style-demo-"))
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")  # gradio's uploads and cache, read per app
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def prune_upload_leftovers(folder: str | Path | None = None, max_age: float | None = None) -> None:
    """Remove the empty `tmp*` files gradio's upload parser leaves in its folder (one per upload;
    the upload moves to a cache subfolder) older than `max_age` s (default UPLOAD_LEFTOVER_TTL)."""
    folder = Path(folder or os.environ.get("GRADIO_TEMP_DIR", ""))
    max_age = UPLOAD_LEFTOVER_TTL if max_age is None else max_age
    now = time.time()
    for path in folder.glob("tmp*") if folder.name and folder.is_dir() else ():
        try:
            stat = path.stat()
            if path.is_file() and stat.st_size == 0 and now - stat.st_mtime > max_age:
                path.unlink()
        except OSError:  # removed meanwhile
            pass


def client_alive() -> Callable[[], bool]:
    """A check that the running gradio event's client is still connected; call inside the handler.

    Gradio marks a running event `alive = False` when its client's event stream closes
    (Queue.clean_events) but lets the function run on; that flag is the only trace a disconnect
    leaves, so it is read here (a private field: tests/test_app_limits.py fails if it changes).
    """
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)

    def alive() -> bool:
        for job in getattr(getattr(blocks, "_queue", None), "active_jobs", None) or ():
            for event in job or ():
                if getattr(event, "_id", None) == event_id:
                    return bool(getattr(event, "alive", True))
        return True

    return alive
