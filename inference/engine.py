"""The model side of an inference run: built once from InferOptions, it stylizes tensors.

`infer.py`'s batch loop (inference/run.py) and the web demo (app.py) both call `Engine.stylize`, so every
knob (alpha, style weights, masks, colour preservation, the optimization's settings) takes one code path
whether the images come from files or from a browser.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Sequence

import torch
from tqdm import tqdm

from configs.read import load_config
from inference.options import InferError, InferOptions
from inference.stylizer import Stylizer
from models.adain import Stats
from models.color import match_color, preserve_luminance
from models.gatys import DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, Callback, OptimizeOptions, optimize
from models.net import StyleTransferNet
from models.precision import check_precision, precision_warning, resolve_device
from models.registry import build_feature_net
from weights.checkpoint import load_model
from weights.pretrained import parse_weights


def load_net(opts: InferOptions) -> StyleTransferNet:
    """The trained network from `checkpoint` (+ `config` for plain state dicts, `weights` for the encoder)."""
    cfg = load_config(opts.config).model if opts.config else None
    source = parse_weights(opts.weights)
    overrides = {} if source.pretrained else {"pretrained": False, "weights_file": source.file}
    return load_model(opts.checkpoint, cfg, map_location="cpu", **overrides)


# The optimization's feature nets pool 4 times before their deepest default layer (VGG19 relu5_1, ResNet50
# layer3): below 16 px a max-pool has nothing left to pool.
MIN_OPTIMIZE_SIDE = 16


def optimize_options(opts: InferOptions, content_short: int | None = None) -> OptimizeOptions:
    """The optimization's knobs from the inference options (defaults of models.gatys where unset).

    With `content_short`, scales are capped at the content's short side unless `opts.upscale`: the output
    keeps the content's size, as the decoder's does.
    """
    scales = tuple(opts.scales)
    if content_short is not None and not opts.upscale:
        scales = tuple(min(s, content_short) for s in scales)
    return OptimizeOptions(
        feature_net=opts.feature_net, style_loss=opts.style_loss, content_weight=opts.content_weight,
        style_weight=DEFAULT_STYLE_WEIGHT if opts.style_weight is None else opts.style_weight,
        tv_weight=DEFAULT_TV_WEIGHT if opts.tv_weight is None else opts.tv_weight,
        optimizer=opts.optimizer, lr=opts.lr, steps=opts.steps[0] if len(opts.steps) == 1 else list(opts.steps),
        init=opts.init, scales=scales, luminance_only=opts.preserve_color == "luminance",
        save_every=opts.save_every, seed=opts.seed, precision=opts.precision,
    )


class Engine:
    """The network of a method on a device: a trained decoder (Stylizer) or the optimization's feature net.

    Built from the options that define the model (method, checkpoint, config, weights, device, precision,
    layout, tiling, feature net); `stylize` reads the per-call knobs from the options it is given.
    """

    def __init__(self, opts: InferOptions):
        self.method = opts.resolved_method
        self.device = resolve_device(opts.device)
        check_precision(self.device, opts.precision)
        if warning := precision_warning(self.device, opts.precision):
            print(f"WARNING: {warning}", file=sys.stderr)
        if self.method == "decoder":
            net = load_net(opts)
            if opts.transform:  # the decoder trained with one transform, run with another (a comparison knob)
                net.set_transform(opts.transform)
            for wanted, capability, use in ((opts.style_weights, "mix", "style mixes (--style-weights)"),
                                            (opts.mask, "accumulator", "masks (--mask)"),
                                            (opts.style_domain, "pool", "style domains (--style-domain)")):
                if wanted:
                    try:
                        net.transform.require(capability, use)
                    except ValueError as err:
                        raise InferError(str(err)) from None
            self.stylizer = Stylizer(net, self.device, opts.precision, opts.channels_last, opts.tile_size,
                                     opts.tile_overlap)
        else:
            content_layers, style_layers = optimize_options(opts).layers()
            layers = list(dict.fromkeys([*content_layers, *style_layers]))
            self.feature_net = build_feature_net(opts.feature_net, layers, opts.weights).to(self.device)

    def stylize(
        self,
        contents: torch.Tensor,
        styles: Sequence[torch.Tensor | Stats],
        opts: InferOptions,
        keys: Sequence[Hashable] | None = None,
        masks: torch.Tensor | None = None,
        callbacks: Sequence[Callback | None] | None = None,
    ) -> list[torch.Tensor]:
        """(B, 3, H, W) contents with (1, 3, h, w) styles (or their statistics) -> a (B, 3, H, W) CPU batch per alpha.

        Several styles are mixed with `opts.style_weights`, or mapped to the regions of `masks`. `keys`
        name the styles for the statistics cache (None: no caching). `callbacks[b]` receives content b's
        intermediate images (optimization only).
        """
        if opts.preserve_color == "covariance":  # the style recolored to each content: nothing to cache
            # (statistics inputs are refused with covariance by InferOptions.validate)
            styles, keys = [match_color(s, contents) for s in styles], None
        if self.method == "optimize":
            callbacks = callbacks or [None] * len(contents)
            short = min(contents.shape[-2:])
            gatys = optimize_options(opts, short)
            smallest = min((short, *gatys.scales))
            if smallest < MIN_OPTIMIZE_SIDE:
                raise ValueError(f"the optimization needs {MIN_OPTIMIZE_SIDE} px or more per side, got {smallest} px "
                                 "(the content or a --scales value); use a larger --size (with --upscale)")
            return [torch.cat([self._optimize(contents[b : b + 1], styles, gatys, opts, callbacks[b])
                               for b in range(len(contents))])]  # luminance-only transfer is done inside (Gatys)
        stylizer = self.stylizer
        keys = keys or [None] * len(styles)
        stats = [s if isinstance(s, tuple) else stylizer.encode(s) if k is None else stylizer.style_stats(k, s)
                 for k, s in zip(keys, styles)]  # a tuple is already statistics (a domain, a stats file)
        weights = opts.style_weights if len(styles) > 1 and masks is None else None
        outs = stylizer.stylize(contents, stats, opts.alpha, weights, masks)
        if opts.preserve_color == "luminance":
            outs = [preserve_luminance(out, contents) for out in outs]
        return outs

    def _optimize(self, content: torch.Tensor, styles: Sequence[torch.Tensor], gatys: OptimizeOptions,
                  opts: InferOptions, callback: Callback | None) -> torch.Tensor:
        """One content's optimization, with a progress bar of its steps and current losses (minutes per image)."""
        total = sum(gatys.steps) if not isinstance(gatys.steps, int) else gatys.steps * max(1, len(gatys.scales))
        with tqdm(total=total, desc="optimize", unit="step", leave=False, disable=None) as bar:
            def progress(entry: dict) -> None:
                bar.update(1)
                bar.set_postfix(total=f"{entry['total']:.4g}", content=f"{entry['content']:.3g}",
                                style=f"{entry['style']:.3g}", refresh=False)

            return optimize(self.feature_net, content.to(self.device), [s.to(self.device) for s in styles], gatys,
                            opts.style_weights, callback, progress).image.cpu()

    def pool(self, images: Sequence[torch.Tensor]) -> Stats:
        """A domain of style images as one style: each image's statistics pooled by the transform."""
        net = self.stylizer.net
        return net.transform.pool([net.style_stats(self.stylizer.encode(image)) for image in images])
