"""The model side of an inference run: built once from InferOptions, it stylizes tensors.

`infer.py`'s loop (inference/run.py's `Runner.outputs`, for images and clips alike) and the web
demo call `Engine.stylize`, so every knob (alpha, style weights, masks, colour preservation, the
optimization's settings) takes one code path whether the images come from files, clips or a browser.
For a trained decoder the Engine holds the network on its device, in its precision and layout, with
a cache of style statistics: they are computed once per style and reused for every content (with N
contents x M styles that saves N*M - M encoder passes), and images larger than the tile size run
tiled with whole-image statistics (inference/tiling.py).
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Sequence
from pathlib import Path

import torch

from configs.read import load_config
from inference.optimize import Callback, optimize_batch, optimize_options
from inference.options import InferError, InferOptions
from inference.tiling import stylize_tiled
from media.color import preserve_luminance
from media.resize import resize
from models.adain import Stats
from models.gatys import TemporalPrior
from models.net import StyleTransferNet
from models.precision import autocast
from models.registry import build_feature_net
from models.transforms import match_color
from runtime.channels_last import keep_channels_last
from runtime.device import check_precision, precision_warning, resolve_device
from weights.load import load_model
from weights.random_check import random_weights
from weights.sources import resolve_checkpoint


def load_net(opts: InferOptions) -> StyleTransferNet:
    """The trained network from `checkpoint` (+ `config` for plain state dicts, `weights` for the
    encoder); with backend onnxruntime, the exported folder behind the same interface
    (inference/onnx_backend.py)."""
    if opts.backend == "onnxruntime":
        from inference.onnx_backend import OnnxNet

        return OnnxNet(opts.checkpoint)
    cfg = load_config(opts.config).model if opts.config else None
    source = opts.weights_spec
    overrides = {} if source.pretrained else {"pretrained": False, "weights_file": source.file}
    # infer.py's and the demo's one call of the spec -> file function (hed-adain, hf:, ...)
    checkpoint = resolve_checkpoint(opts.checkpoint)
    return load_model(checkpoint, cfg, map_location="cpu", **overrides)


def random_weights_warning(opts: InferOptions) -> str | None:
    """Why the images cannot be real stylizations (random weights: --weights random, or what the
    checkpoint's file says), or None; infer.py's run says it once the network loaded."""
    if opts.weights_spec.random:
        return (
            "--weights random: the feature network / encoder has RANDOM weights; the images are "
            "NOT meaningful stylizations (smoke test only)"
        )
    if opts.checkpoint and (why := random_weights(opts.checkpoint)):
        return f"{Path(opts.checkpoint).name} {why}: the images are NOT meaningful stylizations"
    return None


def _check_capabilities(net: StyleTransferNet, opts: InferOptions) -> None:
    """What the options ask of the transform that a plain-function transform cannot do: one line."""
    for wanted, capability, use in (
        (opts.style_weights, "mix", "style mixes (--style-weights)"),
        (opts.mask, "accumulator", "masks (--mask)"),
        (opts.style_domain, "pool", "style domains (--style-domain)"),
    ):
        if wanted:
            try:
                net.transform.require(capability, use)
            except ValueError as err:
                raise InferError(str(err)) from None


class Engine:
    """The network of a method on a device: a trained decoder, or the optimization's feature net.

    Built from the options that define the model (method, checkpoint, config, weights, device,
    precision, layout, tiling, feature net); `stylize` reads the per-call knobs from the options it
    is given. `Engine.for_net` wraps a network already built (benchmarks, tests).
    """

    def __init__(self, opts: InferOptions):
        self.method = opts.resolved_method
        device = resolve_device("cpu" if opts.backend == "onnxruntime" else opts.device)
        check_precision(device, opts.precision)
        if warning := precision_warning(device, opts.precision):
            print(f"WARNING: {warning}", file=sys.stderr)
        if self.method == "decoder":
            net = load_net(opts)
            # the decoder trained with one transform, run with another (a comparison knob)
            if opts.transform:
                net.set_transform(opts.transform)
            _check_capabilities(net, opts)
            self._hold(
                net, device, opts.precision, opts.channels_last, opts.tile_size, opts.tile_overlap
            )
        else:
            self.device, self.precision = device, opts.precision
            content_layers, style_layers = optimize_options(opts).layers()
            layers = list(dict.fromkeys([*content_layers, *style_layers]))
            self.feature_net = build_feature_net(opts.feature_net, layers, opts.weights).to(device)

    @classmethod
    def for_net(
        cls,
        net: StyleTransferNet,
        device: torch.device,
        precision: str = "fp32",
        channels_last: bool = True,
        tile_size: int = 1024,
        tile_overlap: int = 128,
    ) -> Engine:
        """A decoder Engine around `net` (moved to `device`, eval mode); see `_hold` for the
        arguments."""
        engine = cls.__new__(cls)
        engine.method = "decoder"
        engine._hold(net, device, precision, channels_last, tile_size, tile_overlap)
        return engine

    def _hold(
        self,
        net: StyleTransferNet,
        device: torch.device,
        precision: str,
        channels_last: bool,
        tile_size: int,
        tile_overlap: int,
    ) -> None:
        """precision: fp32 | bf16 | fp16 (autocast; statistics stay float32 in models.adain).
        channels_last: NHWC activations (oneDNN's convolutions are faster in that layout on CPU:
        `python -m bench figures`); the net's layers keep NHWC in any case
        (runtime/channels_last.py). tile_size: images whose long side exceeds it run tiled; 0
        never."""
        self.net = keep_channels_last(net.to(device).eval())
        self.device, self.precision, self.channels_last = device, precision, channels_last
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.tile_size, self.tile_overlap = tile_size, tile_overlap
        self._styles: dict[Hashable, Stats] = {}

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images -> encoder features on the device, in the run's precision and
        layout."""
        # both ways: an image read from a file is an NHWC view (its HWC array permuted), which
        # --no-channels-last would otherwise still run NHWC
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        images = images.to(self.device).contiguous(memory_format=layout)
        with torch.inference_mode(), autocast(self.device, self.precision):
            return self.net.encode(images)

    def style_stats(self, key: Hashable, image: torch.Tensor) -> Stats:
        """(1, 3, h, w) style image -> its transform statistics, computed once per key."""
        if key not in self._styles:
            self._styles[key] = self.net.style_stats(self.encode(image))
        return self._styles[key]

    def stylize(
        self,
        contents: torch.Tensor,
        styles: Sequence[torch.Tensor | Stats],
        opts: InferOptions,
        keys: Sequence[Hashable] | None = None,
        masks: torch.Tensor | None = None,
        callbacks: Sequence[Callback | None] | None = None,
        prior: TemporalPrior | None = None,
        tile_size: int | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents with (1, 3, h, w) styles (or their statistics) -> a (B, 3, H, W)
        CPU batch per alpha.

        Several styles are mixed with `opts.style_weights`, or mapped to the regions of `masks`.
        `keys` name the styles for the statistics cache (None: no caching). `callbacks[b]` receives
        content b's intermediate images (optimization only). Video (inference/video.py):
        `prior` is the warped previous frame (optimization, batch of 1). `tile_size` replaces
        --tile-size (the decoder; inference/run.py's out-of-memory retry).
        """
        # the style recolored to each content: nothing to cache
        if opts.preserve_color == "covariance":
            # (statistics inputs are refused with covariance by InferOptions.validate)
            styles, keys = [match_color(s, contents) for s in styles], None
        if self.method == "optimize":
            return [
                optimize_batch(
                    self.feature_net, self.device, contents, styles, opts, callbacks, prior
                )
            ]
        keys = keys or [None] * len(styles)
        stats = [
            s if isinstance(s, tuple) else self.encode(s) if k is None else self.style_stats(k, s)
            for k, s in zip(keys, styles)
        ]  # a tuple is already statistics (a domain, a stats file)
        weights = opts.style_weights if len(styles) > 1 and masks is None else None
        outs = self.decode_batch(contents, stats, opts.alpha, weights, masks, tile_size=tile_size)
        if opts.preserve_color == "luminance":
            outs = [preserve_luminance(o, resize(contents.float(), o.shape[-2:])) for o in outs]
        return outs

    def decode_batch(
        self,
        contents: torch.Tensor,
        style_feats: Sequence[torch.Tensor | Stats],
        alphas: Sequence[float] = (1.0,),
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
        tile_size: int | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents -> one (B, 3, H, W) float32 CPU batch per alpha (content encoded
        once).

        `style_feats`: per style, its encoder features (`encode`) or its statistics (`style_stats`,
        a statistics file's or a pooled domain's, which may sit on the CPU: moved to the device).
        `tile_size`: instead of the engine's (inference/run.py's out-of-memory retry).
        """
        tile = self.tile_size if tile_size is None else tile_size
        styles = [
            tuple(t.to(self.device) for t in s) if isinstance(s, tuple) else self.net.style_stats(s)
            for s in style_feats
        ]
        masks = None if masks is None else masks.to(self.device)
        size = contents.shape[-2:]
        with torch.inference_mode(), autocast(self.device, self.precision):
            if tile and max(size) > tile:
                return [
                    torch.cat(
                        [
                            stylize_tiled(
                                self.net,
                                c,
                                styles,
                                a,
                                style_weights,
                                masks,
                                tile,
                                self.tile_overlap,
                                encode=self.encode,
                            )
                            for c in contents.split(1)
                        ]
                    )
                    for a in alphas
                ]
            c_feat = self.encode(contents)
            kw = dict(size=size, style_weights=style_weights, masks=masks)
            images = (self.net.stylize_features(c_feat, styles, alpha=a, **kw)[0] for a in alphas)
            return [image.float().cpu().contiguous() for image in images]

    def pool(self, images: Sequence[torch.Tensor]) -> Stats:
        """A domain of style images as one style: each image's statistics pooled by the
        transform."""
        return self.net.transform.pool(
            [self.net.style_stats(self.encode(image)) for image in images]
        )
