"""What is measured: the passes (one stylization, one optimization step, one training step) and \
the sets.

The benchmark table and the inference figures build their passes here, so a figure and a table row
of the same method and size time and count the very same calls.

Methods (all with random weights: speed does not depend on the weights' values, and nothing
downloads):
  decoder_vgg     StyleTransferNet VGG19 relu4_1 + mirror_vgg decoder through
                  inference.engine.Engine (the infer.py path: channels_last, autocast, untiled): one
                  content x style pair, both encoded, AdaIN, decoded, copied to the CPU (batch 1,
                  style encoding included: a new pair's cost).
  decoder_vit     the same with timm vit_base_patch16_224 (final tokens) + transposed_conv decoder
                  (vit_tiny_patch16_224 in the quick set).
  optimize_step   one L-BFGS step of the Gatys optimization (models/gatys.py): VGG19 forward to
                  relu5_1 and backward to the pixels, targets precomputed (the per-step cost; x
                  steps = a run).
  train/<config>  one training step of configs/<config>.yaml (StyleTransferObjective forward,
                  backward, Adam step) on random batches at the config's crop, batch reduced to
                  `train_batch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from configs.read import load_config
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from inference.engine import Engine
from models.gatys import Objective, OptimizeOptions, blended_style_targets, make_optimizer
from models.net import StyleTransferNet
from models.precision import autocast
from models.pretrained import seeded
from models.registry import build_feature_net
from runtime.device import memory_format, precision_choices
from training.objective import StyleTransferObjective

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
VIT_BASE = "vit_base_patch16_224"


@dataclass(frozen=True)
class Case:
    method: str  # decoder_vgg | decoder_vit | optimize_step | train/<config>
    kind: str  # "inference" | "optimize_step" | "train_step"
    size: int  # image side (square), the crop for training
    precision: str
    batch: int = 1
    model_name: str = ""  # timm name for decoder_vit; config file stem for train


def stylization_net(method: str, model_name: str = VIT_BASE) -> StyleTransferNet:
    """The random-weight network of `decoder_vgg` or `decoder_vit` (seeded: the same weights every
    run)."""
    if method == "decoder_vgg":
        cfg = ModelConfig(
            EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig(kind="mirror_vgg")
        )
    elif method == "decoder_vit":
        cfg = ModelConfig(
            EncoderConfig(kind="vit", name=model_name, pretrained=False),
            DecoderConfig(kind="transposed_conv"),
        )
    else:
        raise ValueError(
            f"unknown stylization method '{method}'; choose decoder_vgg or decoder_vit"
        )
    with seeded(0):
        return StyleTransferNet(cfg)


def stylization_pass(
    net: StyleTransferNet,
    device: torch.device,
    precision: str,
    content: torch.Tensor,
    style: torch.Tensor,
) -> Callable[[], torch.Tensor]:
    """infer.py's runner (channels_last, autocast, outputs on the CPU), untiled: one pair, style
    encoded too."""
    stylizer = Engine.for_net(net, device, precision, channels_last=True, tile_size=0)

    def run():
        return stylizer.decode_batch(content, [stylizer.encode(style)])[0]

    return run


def random_pair(batch: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random (content, style), (batch, 3, size, size) each on the CPU: speed ignores pixel
    values."""
    with seeded(0):
        return torch.rand(batch, 3, size, size), torch.rand(batch, 3, size, size)


def feature_net(opts: OptimizeOptions) -> torch.nn.Module:
    """The random-weight feature network of an optimization with `opts` (seeded, truncated to its
    layers)."""
    content_layers, style_layers = opts.layers()
    with seeded(0):
        return build_feature_net(
            opts.feature_net, list(dict.fromkeys([*content_layers, *style_layers])), "random"
        )


def optimize_step_pass(
    content: torch.Tensor, style: torch.Tensor, opts: OptimizeOptions
) -> Callable[[], None]:
    """One step of models.gatys's optimizer on feature_net(opts) (style targets precomputed, not
    timed)."""
    _, style_layers = opts.layers()
    net = feature_net(opts).to(content.device)
    targets = blended_style_targets(
        net, [style], [1.0], style_layers, opts.style_loss, opts.precision
    )
    objective = Objective(net, content, targets, opts)
    image = content.clone().contiguous().requires_grad_(True)
    optimizer = make_optimizer(opts.optimizer, [image], opts.lr)

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


def train_step_pass(
    config: str,
    batch: int,
    size: int,
    precision: str,
    device: torch.device,
    overrides: Sequence[str] = (),
    grad_scaler: bool = False,
) -> Callable[[], None]:
    """One training step of configs/<config>.yaml (+ `overrides`): objective forward under autocast,
    backward, Adam, in the memory format train.py uses (train.memory_format); `grad_scaler`: fp16's
    loss scaling."""
    cfg = load_config(CONFIG_DIR / f"{config}.yaml", list(overrides))
    enc = dataclasses.replace(cfg.model.encoder, pretrained=False, weights_file="")
    loss = dataclasses.replace(cfg.loss, loss_net_pretrained=False, loss_net_weights_file="")
    with seeded(0):
        net = StyleTransferNet(dataclasses.replace(cfg.model, encoder=enc))
        objective = StyleTransferObjective(net, loss).to(device).train()
        content = torch.rand(batch, 3, size, size, device=device)
        style = torch.rand(batch, 3, size, size, device=device)
    layout = memory_format(cfg.train.memory_format, device)
    objective.to(memory_format=layout)
    content, style = (x.contiguous(memory_format=layout) for x in (content, style))
    optimizer = torch.optim.Adam(
        [p for p in objective.parameters() if p.requires_grad], lr=cfg.optim.lr
    )

    scaler = torch.amp.GradScaler(device.type, enabled=grad_scaler)

    def run():
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, precision):
            total = objective(content, style)["total"]
        scaler.scale(total).backward()
        scaler.step(optimizer)
        scaler.update()

    run.objective = objective  # for bench.profile_step's module hooks
    return run


def build_case(case: Case, device: torch.device) -> Callable[[], object]:
    """Set up a case (models, inputs) and return the callable one call of which is measured."""
    if case.kind == "train_step":
        return train_step_pass(case.model_name, case.batch, case.size, case.precision, device)
    content, style = random_pair(case.batch, case.size)
    # inputs stay on the CPU: infer.py reads files there, the copy is part of a pair
    if case.kind == "inference":
        net = stylization_net(case.method, case.model_name or VIT_BASE)
        return stylization_pass(net, device, case.precision, content, style)
    if case.kind == "optimize_step":
        opts = OptimizeOptions(precision=case.precision, optimizer="lbfgs")
        return optimize_step_pass(content.to(device), style.to(device), opts)
    raise ValueError(f"unknown case kind '{case.kind}'")


def train_size(config: str) -> int:
    """The crop size of configs/<config>.yaml (the training resolution); 0 when the file is
    missing."""
    path = CONFIG_DIR / f"{config}.yaml"
    return load_config(path).data.crop if path.is_file() else 0


def precisions(device: torch.device) -> list[str]:
    """fp32 and bf16 on CPU; on CUDA also fp16, and bf16 only where it is native (not on a T4)."""
    return precision_choices(device)


def default_cases(device: torch.device, quick: bool = False, train_batch: int = 2) -> list[Case]:
    """The default set (sized to finish in < 10 min on 2 CPU cores; larger on CUDA) or the quick
    set."""
    if quick:
        return [
            Case("decoder_vgg", "inference", 64, "fp32"),
            Case("decoder_vgg", "inference", 64, "bf16"),
            Case("decoder_vit", "inference", 64, "fp32", model_name="vit_tiny_patch16_224"),
            Case("optimize_step", "optimize_step", 64, "fp32"),
            Case("train/smoke", "train_step", train_size("smoke") or 64, "fp32", 2, "smoke"),
        ]
    precs, cuda = precisions(device), device.type == "cuda"
    cases = [Case("decoder_vgg", "inference", s, p) for s in (256, 512, 1024) for p in precs]
    # ViT-B at 1024 px is 4096 tokens (~1.3 TFLOP per encode, quadratic attention): over a minute
    # per call on 2 CPU cores, so the CPU default stops at 512 and the ViT 1024 row is CUDA-only.
    cases += [
        Case("decoder_vit", "inference", s, p, model_name=VIT_BASE)
        for s in ((256, 512, 1024) if cuda else (256, 512))
        for p in precs
    ]
    # One optimization step backpropagates through VGG19 to relu5_1: 1024 px only where it is
    # affordable.
    cases += [
        Case("optimize_step", "optimize_step", s, p)  # fp16 is refused there (models.gatys)
        for s in ((256, 512, 1024) if cuda else (256, 512))
        for p in precs
        if p != "fp16"
    ]
    for config in ("smoke", "vgg_adain_meanstd", "vit_adain_meanstd"):
        cases.append(
            Case(
                f"train/{config}",
                "train_step",
                train_size(config),
                "fp32",
                2 if config == "smoke" else train_batch,
                config,
            )
        )
    return cases
