"""The optimizer a run trains with, by optim.name."""

from __future__ import annotations

import torch

from configs.schema import Config

# the registry of optim.name; configs/schema.py lists the same names (OptimizerName), a test checks
# they agree
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def build_optimizer(cfg: Config, params) -> torch.optim.Optimizer:
    """The optimizer named by optim.name (already checked against OPTIMIZERS when the config was
    read)."""
    if cfg.optim.name == "sgd":
        return torch.optim.SGD(
            params,
            lr=cfg.optim.lr,
            momentum=cfg.optim.momentum,
            weight_decay=cfg.optim.weight_decay,
        )
    return OPTIMIZERS[cfg.optim.name](
        params, lr=cfg.optim.lr, betas=tuple(cfg.optim.betas), weight_decay=cfg.optim.weight_decay
    )
