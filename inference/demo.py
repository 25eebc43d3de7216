"""The web demo's request handling (app.py only lays out the page): on infer.py's code path, not a copy of it.

One request -> InferOptions (a `dataclasses.replace` of the app's base options, checked by `validate`) ->
a cached `Engine` -> `Engine.stylize`, the call inference/run.py makes for files. Everything a visitor can
get wrong (not an image, a decompression bomb, a 1x1 image, a broken checkpoint, fp16 on a CPU) becomes a
`DemoError` whose one line the page shows; nothing reaches the browser as a traceback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from configs.schema import ConfigError
from inference.engine import Engine
from inference.options import InferError, InferOptions
from media.images import ImageReadError, read_image, resize_image, save_image, to_tensor
from media.resize import fit_size
from models.precision import precision_choices, precision_warning, resolve_device
from weights.checkpoint import CheckpointError
from weights.pretrained import PretrainedWeightsError

log = logging.getLogger(__name__)

OPTIMIZE = "optimize"  # the model picker's value for the per-image optimization (no checkpoint)
RANDOM_BANNER = "random weights: not a real stylization"
MIN_SIDE = 16  # the VGG encoder's relu4_1 map is 1/8 of the input: below this there is no texture to move
STREAM_FRAMES = 20  # intermediate images the optimization sends while it runs
RESULT_TTL = 3600  # seconds a result PNG stays for its download button (gradio's cache keeps its own copy)
STYLE_CACHE = 64  # style statistics kept per engine (a long-running server sees unboundedly many styles)
# errors that are the request's fault, or the checkpoint's: their message is the page's message
_USER_ERRORS = (InferError, CheckpointError, PretrainedWeightsError, ConfigError, ValueError)


class DemoError(Exception):
    """A request the demo cannot serve; str() is one line for the page."""


class Cancelled(DemoError):
    """The visitor pressed Cancel while the optimization ran."""


@dataclass
class Request:
    """One click of the button (or one `/stylize` API call); paths are uploads in the temp folder."""

    content: str | None
    styles: Sequence[str | None]
    model: str = OPTIMIZE  # one of Demo.models, or OPTIMIZE
    alpha: float = 1.0  # trained decoders only
    style_weights: Sequence[float] | None = None  # one per given style; None: equal
    preserve_color: str = "none"
    size: int = 512  # short side of the output
    precision: str = "fp32"
    steps: int = 100  # optimization: steps per scale
    style_weight: float | None = None  # optimization; None: models.gatys default
    scales: str | Sequence[int] = ()  # optimization: coarse short sides before the output's, e.g. "128,256"


@dataclass
class Result:
    image: torch.Tensor  # (3, H, W) in [0, 1], the content's size after the size knob
    content: torch.Tensor  # (3, H, W) the content as stylized, for the before/after view
    path: Path  # the full-resolution PNG
    seconds: float  # model load (when not cached) + stylization
    random_weights: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Step:
    """An intermediate image of the optimization, for the stream."""

    step: int
    total: int
    image: torch.Tensor  # (3, H, W)


def _ints(value: str | Sequence[int]) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in (value.replace(",", " ").split() if isinstance(value, str) else value))
    except ValueError:
        raise DemoError(f"scales must be whole numbers separated by commas, e.g. 128,256; got '{value}'") from None


class Demo:
    """The app's state across requests: the model list, the engine cache, the output folder.

    Args:
        models: checkpoint paths for the picker (inference.discovery.discover_models).
        workdir: where results are written (inside the app's temp folder).
        weights: "pretrained" | "random" | PATH, as infer.py --weights.
        max_size: cap on the long side of every image; larger inputs are downscaled and the page says so.
        device: "auto" | "cpu" | "cuda".
        engines: how many built models to keep (each holds a network in memory).
    """

    def __init__(self, models: Sequence[str], workdir: str | Path, weights: str = "pretrained",
                 max_size: int = 1024, device: str = "auto", engines: int = 2):
        self.models, self.workdir, self.max_size, self.engines_kept = list(models), Path(workdir), max_size, engines
        self.base = InferOptions(content=(), style=(), weights=weights, device=device)
        self.device = resolve_device(device)
        self.precisions = precision_choices(self.device)  # bf16 where native (models.precision)
        self.engines: OrderedDict[tuple, Engine] = OrderedDict()
        self._lock = threading.Lock()  # one build per engine even when concurrent requests ask for it

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the model picker: the checkpoints, then the optimization."""
        return [(_label(k), k) for k in self.models] + [("optimization (Gatys et al., no checkpoint)", OPTIMIZE)]

    def options(self, req: Request) -> InferOptions:
        """The request as InferOptions; raises DemoError with the first problem."""
        if req.model != OPTIMIZE and req.model not in self.models:
            raise DemoError(f"unknown model '{req.model}'; choose one of: {', '.join(v for _, v in self.choices)}")
        if req.precision not in self.precisions:
            why = precision_warning(self.device, req.precision) or "is not available on this device"
            raise DemoError(f"precision {req.precision}: {why}; choose one of "
                            f"{', '.join(self.precisions)}")
        if not req.content:
            raise DemoError("no content image: upload one, paste one, or pick an example")
        if not any(req.styles):
            raise DemoError("no style image: upload one, paste one, or pick an example")
        method = "optimize" if req.model == OPTIMIZE else "decoder"
        opts = dataclasses.replace(
            self.base, content=(req.content,), style=tuple(p for p in req.styles if p), method=method,
            checkpoint=None if method == "optimize" else req.model, size=int(req.size),
            max_size=self.max_size, alpha=(float(req.alpha),) if method == "decoder" else (1.0,),
            style_weights=tuple(req.style_weights) if req.style_weights else None,
            preserve_color=req.preserve_color, precision=req.precision, steps=(int(req.steps),),
            scales=_ints(req.scales), style_weight=req.style_weight)
        try:
            return opts.validate()
        except InferError as err:
            raise DemoError(str(err)) from None

    def load_input(self, path: str, what: str, size: int) -> tuple[torch.Tensor, list[str]]:
        """An uploaded file -> (3, H, W) with short side `size` and long side <= max_size, plus notes."""
        try:
            img = read_image(path)
        except ImageReadError as err:
            raise DemoError(f"{what}: {err.reason}") from None
        w, h = img.size
        if min(w, h) < MIN_SIDE:
            raise DemoError(f"{what} is {w}x{h} px; it needs at least {MIN_SIDE} px on each side")
        notes = []
        if max(fit_size(w, h, size)) > self.max_size:
            tw, th = fit_size(w, h, size, self.max_size)
            notes.append(f"{what} {w}x{h} downscaled to {tw}x{th} (size cap {self.max_size} px)")
        return to_tensor(resize_image(img, size, self.max_size)), notes

    def engine(self, opts: InferOptions) -> Engine:
        """The Engine for the options' model and precision, built once and kept (least recently used out)."""
        key = (opts.resolved_method, opts.checkpoint, opts.precision)
        with self._lock:
            if key not in self.engines:
                self.engines[key] = Engine(opts)
                while len(self.engines) > self.engines_kept:
                    self.engines.popitem(last=False)
            self.engines.move_to_end(key)
            return self.engines[key]

    def run(self, req: Request, on_step: Callable[[Step], None] | None = None) -> Result:
        """Stylize one request; raises DemoError (one line) for anything the visitor can act on."""
        start = time.perf_counter()
        try:
            return self._run(req, on_step, start)
        except DemoError:
            raise
        except _USER_ERRORS as err:
            raise DemoError((str(err).strip() or type(err).__name__).splitlines()[0]) from None
        except torch.OutOfMemoryError:
            raise DemoError("out of memory: choose a smaller output size") from None
        except Exception as err:  # a bug: the log gets the traceback, the page one line
            log.exception("request failed")
            raise DemoError(f"internal error ({type(err).__name__}: {str(err)[:200]})") from None

    def stream(self, req: Request, cancel: threading.Event) -> Iterator[Step | Result]:
        """`run` in a worker thread: yields the optimization's Steps as they come, then the Result.

        `cancel.set()` (the Cancel button, or the page closing this generator) stops the optimization at
        its next intermediate image; the stream then raises Cancelled.
        """
        updates: queue.Queue = queue.Queue()

        def on_step(step: Step) -> None:
            if cancel.is_set():
                raise Cancelled(f"cancelled at step {step.step} of {step.total}")
            updates.put(step)

        def work() -> None:
            try:
                updates.put(self.run(req, on_step))
            except DemoError as err:
                updates.put(err)

        threading.Thread(target=work, daemon=True).start()
        try:
            while True:
                item = updates.get()
                if isinstance(item, DemoError):
                    raise item
                yield item
                if isinstance(item, Result):
                    return
        finally:
            cancel.set()  # a closed generator (cancelled event) stops the worker too

    def _run(self, req: Request, on_step: Callable[[Step], None] | None, start: float) -> Result:
        opts = self.options(req)
        content, notes = self.load_input(req.content, "content", opts.size)
        opts = _fit_scales(opts, min(content.shape[-2:]))
        paths, styles = opts.style, []
        for k, path in enumerate(paths):
            style, more = self.load_input(path, "style" if len(paths) == 1 else f"style {k + 1}", opts.size)
            styles.append(style[None])
            notes += more
        if opts.style_weights is not None and len(opts.style_weights) != len(styles):
            raise DemoError(f"got {len(opts.style_weights)} style weights for {len(styles)} styles")
        engine = self.engine(opts)
        callbacks = None
        if engine.method == "optimize" and on_step:
            total = opts.steps[0] * max(1, len(opts.scales))
            callbacks = [lambda step, image, _log: on_step(Step(min(step, total), total, image[0].detach().cpu()))]
        # the statistics cache is keyed by pixels, not paths: every upload gets a new temp path
        keys = [hashlib.sha1(s.numpy().tobytes()).hexdigest() + str(tuple(s.shape)) for s in styles]
        out = engine.stylize(content[None], styles, opts, keys=keys, callbacks=callbacks)[0][0]
        _trim_style_cache(engine)
        _prune(self.workdir, RESULT_TTL)
        path = save_image(out, self.workdir / uuid.uuid4().hex / "stylized.png")
        random = opts.weights == "random" or (engine.method == "decoder" and _random_encoder(engine))
        return Result(out, content, path, time.perf_counter() - start, random, notes)


def _label(path: str) -> str:
    """A checkpoint's name in the picker: relative to the working folder, else its last three parts."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        parts = Path(path).parts
        return path if len(parts) <= 3 else ".../" + "/".join(parts[-3:])


def _fit_scales(opts: InferOptions, short: int) -> InferOptions:
    """The optimization's scales end at the content's short side (the output size); coarser ones come first.

    Scales at or above it are dropped (they would enlarge the image). `save_every` spreads STREAM_FRAMES
    intermediate images over all steps.
    """
    scales = tuple(s for s in opts.scales if s < short)
    scales = (*scales, short) if scales else ()
    total = opts.steps[0] * max(1, len(scales))
    return dataclasses.replace(opts, scales=scales, save_every=max(1, total // STREAM_FRAMES))


def _random_encoder(engine: Engine) -> bool:
    """A decoder whose encoder was never trained nor pretrained (a random-weight smoke checkpoint)."""
    enc = engine.stylizer.net.cfg.encoder
    return not (enc.pretrained or enc.weights_file or enc.trainable)


def _trim_style_cache(engine: Engine) -> None:
    """Keep the Stylizer's statistics cache (a plain dict, oldest first) at STYLE_CACHE entries."""
    cache = getattr(getattr(engine, "stylizer", None), "_styles", None)
    while cache is not None and len(cache) > STYLE_CACHE:
        cache.pop(next(iter(cache)), None)  # None: a concurrent request may have trimmed it first


def _prune(folder: Path, max_age: float) -> None:
    """Remove result folders older than `max_age` seconds (a long-running server would fill its disk)."""
    now = time.time()
    for sub in folder.glob("*") if folder.is_dir() else ():
        if now - sub.stat().st_mtime > max_age:
            shutil.rmtree(sub, ignore_errors=True)
