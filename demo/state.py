"""The web demo's state and its one run: on infer.py's code path, no copy.

`Demo` holds what lives across requests: the model labels and their paths, the default model, the
cache of built engines, the results folder. One request -> InferOptions (demo/inputs.py:
every value converted and checked) -> a cached `Engine` -> `Engine.stylize`, the call
inference/run.py makes for files. Everything a visitor can get wrong (a wrong type, nan, a value
over a limit, not an image, a 1x1 image, a broken checkpoint) becomes a `DemoError` whose one line
the page shows; nothing reaches a client as a traceback or a server path. The page is
demo/page.py, the API demo/api.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path

import torch

from configs.schema import ConfigError
from demo.inputs import fit_scales, load_upload, model_backend, request_options
from demo.limits import Budget, Cancelled, DemoError, Limits, OutOfTime, watching
from demo.picker import newest_first
from demo.types import OPTIMIZE, RANDOM_BANNER, Request, Result, Step
from inference.engine import Engine
from inference.options import InferError, InferOptions
from media.images import save_image
from models.config import parse_weights
from models.pretrained import PretrainedWeightsError, random_encoder
from runtime.device import precision_choices, resolve_device
from weights.checkpoint import CheckpointError
from weights.random_check import random_weights

__all__ = [
    "OPTIMIZE",
    "RANDOM_BANNER",
    "Cancelled",
    "Demo",
    "DemoError",
    "Limits",
    "OutOfTime",
    "Request",
    "Result",
    "Step",
]
log = logging.getLogger(__name__)

RESULT_TTL = 3600  # s a result PNG stays for its download button (gradio's cache has its own copy)
STYLE_CACHE = 64  # style statistics kept per engine (a server sees unboundedly many styles)
# errors that are the request's fault, or the checkpoint's: their message is the page's message
_USER_ERRORS = (InferError, CheckpointError, PretrainedWeightsError, ConfigError, ValueError)


class Demo:
    """The app's state across requests: the model list, the engine cache, the output folder.

    Args:
        models: {label: checkpoint path} for the picker (demo.picker.discover_models); a
            list of paths is labelled by the paths themselves (tests).
        workdir: where results are written (inside the app's temp folder).
        weights: "pretrained" | "random" | PATH, as infer.py --weights.
        limits: what one request may ask for (demo/limits.py).
        device: "auto" | "cpu" | "cuda".
        engines: how many built models to keep (each holds a network in memory).
    """

    def __init__(
        self,
        models: Mapping[str, str] | Sequence[str],
        workdir: str | Path,
        weights: str = "pretrained",
        limits: Limits | None = None,
        device: str = "auto",
        engines: int = 2,
    ):
        named = isinstance(models, Mapping)
        self.models = dict(models) if named else {str(p): str(p) for p in models}
        self.workdir, self.limits, self.engines_kept = Path(workdir), limits or Limits(), engines
        self.base = InferOptions(content=(), style=(), weights=weights, device=device)
        self.device = resolve_device(device)
        self.precisions = precision_choices(self.device)  # bf16 where native (runtime.device)
        self.engines: OrderedDict[tuple, Engine] = OrderedDict()
        self._lock = threading.Lock()  # one build per engine even when requests ask concurrently

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the model picker: the checkpoints, then the optimization."""
        optimize = ("optimization (Gatys et al., no checkpoint)", OPTIMIZE)
        return [(k, k) for k in self.models] + [optimize]

    @cached_property
    def default(self) -> str:
        """The newest release file that loads (its engine is kept), else a step folder, OPTIMIZE."""
        for label in newest_first(self.models):
            try:
                path = self.models[label]
                self.engine(
                    dataclasses.replace(
                        self.base, method="decoder", checkpoint=path, backend=model_backend(path)
                    )
                )
                return label
            except Exception as err:  # a broken file must not become every default call's error
                log.warning("not the default model: %s", self.scrub(str(err).splitlines()[0]))
        return OPTIMIZE

    def random_reason(self, model: str) -> str | None:
        """Why `model`'s images are not real stylizations (random weights), or None."""
        if parse_weights(self.base.weights).random:
            return "--weights random"
        return random_weights(self.models[model]) if model in self.models else None

    def scrub(self, text: str) -> str:
        """`text` with every checkpoint path replaced by its label, the temp folder by '<temp>'."""
        pairs = [(str(Path(p).resolve()), k) for k, p in self.models.items()]
        pairs += [(p, k) for k, p in self.models.items()]
        pairs.append((str(self.workdir.resolve().parent), "<temp>"))
        for path, label in sorted(pairs, key=lambda pl: -len(pl[0])):
            text = text.replace(path, label)
        return text

    def options(self, req: Request) -> InferOptions:
        """The request as InferOptions, every value converted and checked; raises DemoError."""
        return request_options(
            req, self.base, self.models, self.limits, self.precisions, self.device
        )

    def engine(self, opts: InferOptions) -> Engine:
        """The Engine for the options' model and precision, built once, kept (least recent out)."""
        key = (opts.resolved_method, opts.checkpoint, opts.precision)
        with self._lock:
            if key not in self.engines:
                self.engines[key] = Engine(opts)
                while len(self.engines) > self.engines_kept:
                    self.engines.popitem(last=False)
            self.engines.move_to_end(key)
            return self.engines[key]

    def run(
        self,
        req: Request,
        on_step: Callable[[Step], None] | None = None,
        budget: Budget | None = None,
    ) -> Result:
        """Stylize one request within `budget` (default: the time limit); raises DemoError."""
        start = time.perf_counter()
        budget = budget or Budget(self.limits.time_limit)
        try:
            with watching(budget):
                return self._run(req, on_step, start, budget)
        except DemoError:
            raise
        except _USER_ERRORS as err:
            line = (str(err).strip() or type(err).__name__).splitlines()[0]
            raise DemoError(self.scrub(line)) from None
        except torch.OutOfMemoryError:
            raise DemoError("out of memory: choose a smaller output size") from None
        except Exception as err:  # a bug: the log gets the traceback, the page one line
            log.exception("request failed")
            line = f"internal error ({type(err).__name__}: {str(err)[:200]})"
            raise DemoError(self.scrub(line)) from None

    def _run(
        self, req: Request, on_step: Callable[[Step], None] | None, start: float, budget: Budget
    ) -> Result:
        opts = self.options(req)
        content, notes = load_upload(req.content, "content", opts.size, self.limits)
        opts = fit_scales(opts, min(content.shape[-2:]))
        paths, styles = opts.style, []
        for k, path in enumerate(paths):
            what = "style" if len(paths) == 1 else f"style {k + 1}"
            style, more = load_upload(path, what, opts.size, self.limits)
            styles.append(style[None])
            notes += more
        engine = self.engine(opts)
        callbacks = None
        if engine.method == "optimize":
            total = opts.steps[0] * max(1, len(opts.scales))
            budget.where = f"at step 1 of {total}"

            def callback(step: int, image: torch.Tensor, _log) -> None:
                budget.where = f"at step {min(step + 1, total)} of {total}"  # what a stop stops
                budget.check()
                if on_step:
                    on_step(Step(min(step, total), total, image[0].detach().cpu()))

            callbacks = [callback]
        # the statistics cache is keyed by pixels, not paths: every upload gets a new temp path
        keys = [hashlib.sha1(s.numpy().tobytes()).hexdigest() + str(tuple(s.shape)) for s in styles]
        out = engine.stylize(content[None], styles, opts, keys=keys, callbacks=callbacks)[0][0]
        _trim_style_cache(engine)
        _prune(self.workdir, RESULT_TTL)
        path = save_image(out, self.workdir / uuid.uuid4().hex / "stylized.png")
        random = self.random_reason(req.model) is not None or (
            engine.method == "decoder" and _random_encoder(engine)
        )
        return Result(out, content, path, time.perf_counter() - start, random, notes)


def _random_encoder(engine: Engine) -> bool:
    """A decoder whose encoder was never trained nor pretrained (a random-weight smoke run)."""
    return random_encoder(engine.net.cfg.encoder)


def _trim_style_cache(engine: Engine) -> None:
    """Keep the Engine's statistics cache (a plain dict, oldest first) at STYLE_CACHE entries."""
    cache = getattr(engine, "_styles", None)
    while cache is not None and len(cache) > STYLE_CACHE:
        cache.pop(next(iter(cache)), None)  # None: a concurrent request may have trimmed it first


def _prune(folder: Path, max_age: float) -> None:
    """Remove result folders older than `max_age` s (a long-running server would fill its disk)."""
    now = time.time()
    for sub in folder.glob("*") if folder.is_dir() else ():
        if now - sub.stat().st_mtime > max_age:
            shutil.rmtree(sub, ignore_errors=True)
