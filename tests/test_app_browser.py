"""app.py in a real headless browser: Debian's `chromium` driven by Playwright, with no way off \
the host.

The page is loaded with every host name but 127.0.0.1 unresolvable (an offline machine) and every
request the page makes is recorded: all of them must go to the app itself. Skipped only where no
chromium is installed and CI is not set; in CI (`.ci/run` installs chromium) a missing browser fails
the test.

Regenerate the screenshot of docs/demo.md with:

    DEMO_SCREENSHOT=docs/demo.png python -m pytest -q tests/test_app_browser.py
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch
from PIL import Image

from data_prep.sample import build_sample
from demo.page import build_app, example_pairs, serve
from demo.state import OPTIMIZE, RANDOM_BANNER, Demo, Limits, Request
from demo.web import make_temp_root
from media.images import load_image, to_tensor

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_MS = 60_000
LABEL = "demo/model.safetensors"


def _playwright():
    """sync_playwright, or skip (fail in CI) when the browser or the driver is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if CHROMIUM and sync_playwright:
        return sync_playwright
    missing = "the chromium package" if not CHROMIUM else "playwright (pip)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing} is missing; .ci/run installs chromium, requirements.txt playwright")
    pytest.skip(f"{missing} is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def served(tmp_path_factory, one_thread):
    from test_app import release  # the random-weight checkpoint the gradio_client tests use

    sync_playwright = _playwright()
    root = tmp_path_factory.mktemp("browser")
    build_sample(root / "sample", size=128)
    ckpt = release(root / "runs" / "demo" / "model.safetensors")
    demo = Demo({LABEL: ckpt}, make_temp_root() / "results", "random", Limits(256), "cpu")
    page = build_app(demo, example_pairs(root / "sample"))
    url = serve(page, port=None, block=False)
    yield dict(
        url=url, demo=demo, ckpt=ckpt, sample=root / "sample", sync_playwright=sync_playwright
    )
    page.close()


def test_page_stylizes_an_upload_offline(served, tmp_path):
    content = served["sample"] / "content" / "val" / "coffee.jpg"
    style = served["sample"] / "style" / "val" / "plasma.jpg"
    host = urlsplit(served["url"]).netloc
    requests = []
    with served["sync_playwright"]() as p:
        # an offline machine: no name resolves except the app's own address
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(served["url"])
        page.wait_for_selector("#run")
        assert RANDOM_BANNER in page.locator("#banner").inner_text()

        page.click("#run")  # nothing uploaded yet: a message in the page, not a spinner
        page.wait_for_function(
            "document.querySelector('#status').innerText.includes('no content image')"
        )

        thumb = page.locator("[data-testid=dataset-cell-0-0] img").first
        # an example shows as an inline thumbnail (gradio's cached copy would put a server path
        # into /config), and clicking it still loads the file itself into both inputs
        assert thumb.get_attribute("src").startswith("data:image/jpeg")
        assert thumb.evaluate("el => el.naturalWidth") > 0
        page.locator("[data-testid=dataset-cell-0-0]").click()
        page.wait_for_selector("#content img[src*='camera']")
        page.wait_for_selector("#style1 img[src*='colorwheel']")
        page.click("#run")  # the example pair runs
        example = page.wait_for_selector("#result img[src*='stylized']").get_attribute("src")
        page.locator("#content input[type=file]").set_input_files(str(content))
        page.locator("#style1 input[type=file]").set_input_files(str(style))
        page.locator("#alpha input[type=range]").fill("0.5")
        page.wait_for_selector("#content img[src*='coffee']")
        page.wait_for_selector("#style1 img[src*='plasma']")
        page.click("#run")
        img = page.wait_for_function(  # the new result, not the example's
            "old => { const i = document.querySelector('#result img[src*=stylized]');"
            " return i && i.getAttribute('src') !== old && i.complete && i.naturalWidth && i; }",
            arg=example,
        ).as_element()
        page.wait_for_function("document.querySelector('#status').innerText.includes(' px in ')")
        size = page.evaluate("el => [el.naturalWidth, el.naturalHeight]", img)
        shown = to_tensor(
            Image.open(io.BytesIO(page.request.get(img.get_attribute("src")).body())).convert("RGB")
        )
        assert page.locator("#download").is_visible()
        page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
        # 256 colours: a quarter of the bytes, the same picture
        if os.environ.get("DEMO_SCREENSHOT"):
            Image.open(tmp_path / "demo.png").convert("RGB").quantize(
                256, dither=Image.Dither.NONE
            ).save(os.environ["DEMO_SCREENSHOT"], optimize=True)

        # the optimization: its controls replace alpha, it streams, and Cancel stops it
        page.locator("#model input").click()
        page.get_by_role("option", name="optimization").click()
        page.wait_for_selector("#alpha", state="hidden")
        page.locator("#size input[type=range]").fill(
            "32"
        )  # 100 steps, an image every 5: Cancel comes in time
        page.locator("#steps input[type=range]").fill("100")
        page.click("#run")
        page.wait_for_function("document.querySelector('#status').innerText.includes('step ')")
        page.click("#cancel")
        page.wait_for_function(
            "document.querySelector('#status').innerText.includes('cancelled at step')"
        )
        browser.close()

    # the output keeps the content's size (short side < cap)
    assert tuple(size) == Image.open(content).size
    pair = (str(content), [str(style)], LABEL)
    expected = load_image(served["demo"].run(Request(*pair, alpha=0.5, size=256)).path)
    alpha_one = served["demo"].run(Request(*pair, size=256)).image
    assert (shown - expected).abs().max() <= 1 / 255, "the page's alpha did not reach the model"
    assert (shown - alpha_one).abs().mean() > 2e-3
    outside = [
        u for u in requests if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != host
    ]
    assert requests and not outside, f"the page requested outside the host: {outside[:5]}"
    assert OPTIMIZE in [v for _, v in served["demo"].choices]
    assert torch.isfinite(shown).all() and Path(tmp_path / "demo.png").stat().st_size > 10_000
