"""TensorBoard logging of a run (main process only) and the fixed validation grid.

One run folder per experiment, directly under the log root, so `tensorboard --logdir runs` overlays
the variants. Scalars use `add_scalar` with `/` groups (`add_scalars` would create one extra run
folder per key), and hparams are written with `run_name="."` into the same folder. `loss/style` is
also logged under a tag naming its definition (`loss/style_mean_std`, `loss/style_gram`, ...): runs
with different style losses log values 10x apart, and TensorBoard's own overlay should not put them
on one curve unannounced.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from configs.schema import Config, LossConfig, flatten
from media.grid import stylization_grid
from media.images import save_image
from models.net import StyleTransferNet


class RunLogger:
    """A SummaryWriter that exists on the main process only; every method is a no-op on other
    ranks."""

    def __init__(self, run_dir: Path, enabled: bool, loss: LossConfig | None = None):
        self.run_dir = Path(run_dir)
        self.writer = SummaryWriter(str(run_dir)) if enabled else None
        self.aliases = {"loss/style": f"loss/style_{loss.style_loss}"} if loss is not None else {}

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for tag, value in values.items():
                self.writer.add_scalar(tag, value, step)
                if tag in self.aliases:
                    self.writer.add_scalar(self.aliases[tag], value, step)

    def grid(self, sheet: torch.Tensor, step: int) -> None:
        """Log the (3, H, W) validation sheet and save it as val_grid.png and
        val_grid_step_XXXXXX.png."""
        if self.writer is None:
            return
        self.writer.add_image("val/grid", sheet, step)
        save_image(sheet, self.run_dir / f"val_grid_step_{step:06d}.png")
        save_image(sheet, self.run_dir / "val_grid.png")

    def hparams(self, cfg: Config, metrics: dict[str, float]) -> None:
        """The flat config with the final metrics, in this run's own folder (run_name='.')."""
        if self.writer is not None:
            self.writer.add_hparams(flatten(cfg), metrics, run_name=".")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@torch.no_grad()
def validation_grid(
    net: StyleTransferNet,
    contents: torch.Tensor,
    styles: torch.Tensor,
    alpha: float,
    autocast,
    cell: int,
) -> torch.Tensor:
    """Stylize every content with every style in eval mode -> a (3, H, W) sheet, inputs on its
    edges.

    Args:
        net: The unwrapped network (not the DDP module: this runs on the main process only).
        contents: (N, 3, s, s) fixed content images; styles: (M, 3, s, s) fixed style images, on
            net's device.
        autocast: The accelerator's autocast context factory, so the grid sees the training
            precision.
    """
    was_training = net.training
    net.eval()
    try:
        with autocast():
            # one batch per style: all contents at once, the style repeated to (N, 3, s, s)
            columns = [net(contents, style.expand_as(contents), alpha).float() for style in styles]
    finally:
        net.train(was_training)
    outputs = [[columns[j][i] for j in range(len(styles))] for i in range(len(contents))]
    return stylization_grid(contents, styles, outputs, cell=cell)
