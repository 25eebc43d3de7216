"""The benchmark's cases: what is run per (method, size, precision), and the default and quick sets.

Methods (all with random weights: speed does not depend on the weights' values, and nothing downloads):
  decoder_vgg     StyleTransferNet VGG19 relu4_1 + mirror_vgg decoder through inference.stylizer.Stylizer (the
                  infer.py path: channels_last, autocast, untiled): one content x style pair, both encoded,
                  AdaIN, decoded, copied to the CPU (batch 1, style encoding included: a new pair's cost).
  decoder_vit     the same with timm vit_base_patch16_224 (final tokens) + transposed_conv decoder
                  (vit_tiny_patch16_224 in the quick set).
  optimize_step   one L-BFGS step of the Gatys optimization (models/gatys.py): VGG19 forward to relu5_1
                  and backward to the pixels, targets precomputed (the per-step cost; x steps = a run).
  train/<config>  one training step of configs/<config>.yaml (StyleTransferObjective forward, backward,
                  Adam step) on random batches at the config's crop, batch reduced to `train_batch`.
Images per second = batch / median seconds per call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig, load_config
from eval.bench_measure import autocast
from inference.stylizer import Stylizer
from models.gatys import Objective, OptimizeOptions, blended_style_targets, make_optimizer
from models.net import StyleTransferNet
from models.registry import build_feature_net
from training.objective import StyleTransferObjective

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


@dataclass(frozen=True)
class Case:
    method: str
    kind: str  # "inference" | "optimize_step" | "train_step"
    size: int  # image side (square), the crop for training
    precision: str
    batch: int = 1
    model_name: str = ""  # timm name for decoder_vit; config file stem for train


def _seeded(fn):
    def wrapper(*args, **kwargs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return fn(*args, **kwargs)
    return wrapper


@_seeded
def _inference(case: Case, device: torch.device) -> Callable[[], object]:
    if case.method == "decoder_vgg":
        cfg = ModelConfig(EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig(kind="mirror_vgg"))
    else:
        cfg = ModelConfig(EncoderConfig(kind="vit", name=case.model_name, pretrained=False),
                          DecoderConfig(kind="transposed_conv"))
    # infer.py's runner (channels_last, autocast, outputs back on the CPU), untiled: the size is the size.
    stylizer = Stylizer(StyleTransferNet(cfg), device, case.precision, channels_last=True, tile_size=0)
    content = torch.rand(case.batch, 3, case.size, case.size)
    style = torch.rand(case.batch, 3, case.size, case.size)

    def run():
        return stylizer.stylize(content, [stylizer.encode(style)])
    return run


@_seeded
def _optimize_step(case: Case, device: torch.device) -> Callable[[], object]:
    opts = OptimizeOptions(precision=case.precision, optimizer="lbfgs")
    content_layers, style_layers = opts.layers()
    net = build_feature_net("vgg19", [*content_layers, *style_layers], "random").to(device)
    content = torch.rand(1, 3, case.size, case.size, device=device)
    style = torch.rand(1, 3, case.size, case.size, device=device)
    targets = blended_style_targets(net, [style], [1.0], style_layers, opts.style_loss, case.precision)
    objective = Objective(net, content, targets, opts)
    image = content.clone().requires_grad_(True)
    optimizer = make_optimizer("lbfgs", [image], 0.0)

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = objective(image)["total"]
        loss.backward()
        return loss

    def run():
        optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
    return run


@_seeded
def _train_step(case: Case, device: torch.device) -> Callable[[], object]:
    path = CONFIG_DIR / f"{case.model_name}.yaml"
    cfg = load_config(path)
    enc = dataclasses.replace(cfg.model.encoder, pretrained=False, weights_file="")
    loss = dataclasses.replace(cfg.loss, loss_net_pretrained=False, loss_net_weights_file="")
    net = StyleTransferNet(dataclasses.replace(cfg.model, encoder=enc))
    objective = StyleTransferObjective(net, loss).to(device).train()
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.optim.lr)
    content = torch.rand(case.batch, 3, case.size, case.size, device=device)
    style = torch.rand(case.batch, 3, case.size, case.size, device=device)

    def run():
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, case.precision):
            total = objective(content, style)["total"]
        total.backward()
        optimizer.step()
    return run


def build_case(case: Case, device: torch.device) -> Callable[[], object]:
    """Set up a case (models, inputs) and return the callable one call of which is measured."""
    if case.kind == "inference":
        return _inference(case, device)
    if case.kind == "optimize_step":
        return _optimize_step(case, device)
    if case.kind == "train_step":
        return _train_step(case, device)
    raise ValueError(f"unknown case kind '{case.kind}'")


def train_size(config: str) -> int:
    """The crop size of configs/<config>.yaml (the training resolution); 0 when the file is missing."""
    path = CONFIG_DIR / f"{config}.yaml"
    return load_config(path).data.crop if path.is_file() else 0


def precisions(device: torch.device) -> list[str]:
    """fp32 and bf16 on CPU; on CUDA also fp16 (and bf16 only where the GPU supports it)."""
    if device.type != "cuda":
        return ["fp32", "bf16"]
    return ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])


def default_cases(device: torch.device, quick: bool = False, train_batch: int = 2) -> list[Case]:
    """The default set (sized to finish in < 10 min on 2 CPU cores; larger on CUDA) or the quick set."""
    if quick:
        return [Case("decoder_vgg", "inference", 64, "fp32"), Case("decoder_vgg", "inference", 64, "bf16"),
                Case("decoder_vit", "inference", 64, "fp32", model_name="vit_tiny_patch16_224"),
                Case("optimize_step", "optimize_step", 64, "fp32"),
                Case("train/smoke", "train_step", train_size("smoke") or 64, "fp32", 2, "smoke")]
    precs, cuda = precisions(device), device.type == "cuda"
    cases = [Case("decoder_vgg", "inference", s, p) for s in (256, 512, 1024) for p in precs]
    # ViT-B at 1024 px is 4096 tokens (~1.3 TFLOP per encode, quadratic attention): over a minute per
    # call on 2 CPU cores, so the CPU default stops at 512 and the ViT 1024 row is CUDA-only.
    cases += [Case("decoder_vit", "inference", s, p, model_name="vit_base_patch16_224")
              for s in ((256, 512, 1024) if cuda else (256, 512)) for p in precs]
    # One optimization step backpropagates through VGG19 to relu5_1: 1024 px only where it is affordable.
    cases += [Case("optimize_step", "optimize_step", s, p)
              for s in ((256, 512, 1024) if cuda else (256, 512)) for p in precs]
    for config in ("smoke", "vgg_adain_meanstd", "vit_adain_meanstd"):
        cases.append(Case(f"train/{config}", "train_step", train_size(config), "fp32",
                          2 if config == "smoke" else train_batch, config))
    return cases
