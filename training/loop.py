"""The training loop: one optimizer step per iteration, logging, validation grid and checkpoints \
on schedule."""

from __future__ import annotations

import logging
import math
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator

from configs.schema import Config, to_json
from media.progress import tqdm
from runtime.device import device_name
from training import interrupt
from training.checkpoints import TrainerState, save_checkpoint, step_dir
from training.data import Streams
from training.run_log import RunLogger, validation_grid
from training.schedule import lr_at
from training.throughput import Throughput
from weights.checkpoint import RELEASE_FILE
from weights.release import save_release

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The loss (or the weights) stayed non-finite; the run stopped without saving the bad state."""


@dataclass
class TrainResult:
    """What a finished run reports (the same on every rank, except that only rank 0 wrote files)."""

    run_dir: Path
    step: int
    skipped_steps: int = 0
    metrics: dict[str, float] = field(default_factory=dict)  # the last logged window's means
    images_per_s: float = 0.0
    data_wait_fraction: float = 0.0
    bad_files: dict[Path, str] = field(default_factory=dict)
    trained_steps: int = 0  # steps this call trained (0: a resume of a finished run)


@dataclass
class Loop:
    """Everything the loop touches, built by train.train(); `run(end_step)` trains until that
    step."""

    accelerator: Accelerator
    cfg: Config
    objective: torch.nn.Module  # prepared (DDP-wrapped when several processes)
    optimizer: torch.optim.Optimizer  # prepared
    streams: Streams
    # fixed (contents, styles) or None when val_pairs == 0
    val: tuple[torch.Tensor, torch.Tensor] | None
    logger: RunLogger
    run_dir: Path
    state: TrainerState
    # of the batches too: the layout train.py chose for the objective (train.memory_format)
    layout: torch.memory_format

    def __post_init__(self):
        self.net = self.accelerator.unwrap_model(self.objective).net
        self.trainable = [p for p in self.objective.parameters() if p.requires_grad]
        self.meter = Throughput(self.cfg.train.batch_size * self.accelerator.num_processes)
        self.nonfinite_in_a_row = 0
        self.stop_agreed = False  # some rank got a SIGTERM / SIGUSR1 (training/interrupt.py)
        self.metrics: dict[str, float] = {}
        # a resumed run starts from a saved step
        self.last_saved: int | None = self.state.step or None
        self._reset_window()

    def _reset_window(self) -> None:
        self.loss_sums: dict[str, torch.Tensor] = {}
        self.grad_norm_sum = torch.zeros((), device=self.accelerator.device)
        self.good_steps = 0

    def run(self, end_step: int) -> TrainResult:
        t, acc = self.cfg.train, self.accelerator
        bar = tqdm(
            total=end_step,
            initial=self.state.step,
            desc=self.cfg.name,
            dynamic_ncols=True,
            disable=not acc.is_main_process,
        )
        try:
            for step in range(self.state.step, end_step):
                interrupt.check()  # a Ctrl-C that came while an error was handled (and survived)
                self.train_step(step)
                done = self.state.step = step + 1
                bar.update(1)
                final = done == end_step
                if done % t.log_every == 0 or final:
                    self.log_window(done)
                    bar.set_postfix(
                        loss=f"{self.metrics.get('loss/total', math.nan):.4g}",
                        skipped=self.state.skipped_steps,
                    )
                if self.val is not None and (done % t.eval_every == 0 or final):
                    self.log_grid(done)
                if done % t.save_every == 0 or final:
                    self.save(done)
                if self.stop_agreed:  # a SIGTERM / SIGUSR1 on some rank: every rank stops here
                    if self.last_saved != done:
                        self.save(done)
                    raise interrupt.TrainingPreempted(
                        done, step_dir(self.run_dir, done), self.run_dir, t.mixed_precision
                    )
        finally:
            bar.close()
        summary = self.meter.summary()
        run = self.meter.run
        # a resume of a finished run trains nothing: its real throughput must stay the logged one
        if run.steps:
            if acc.is_main_process:
                print(summary)
            self.logger.scalars(
                {
                    "throughput/run_images_per_s": run.images_per_s,
                    "throughput/run_data_wait_fraction": run.data_wait_fraction,
                },
                self.state.step,
            )
        elif acc.is_main_process:
            print(f"nothing to train: the run is at step {self.state.step} of {end_step}")
        return TrainResult(
            self.run_dir,
            self.state.step,
            self.state.skipped_steps,
            dict(self.metrics),
            run.images_per_s,
            run.data_wait_fraction,
            self.streams.bad_files(),
            run.steps,
        )

    def train_step(self, step: int) -> None:
        """One iteration: fetch, forward, then backward + step unless the loss is non-finite on any
        rank."""
        acc, cfg = self.accelerator, self.cfg
        self.meter.start()
        content = next(self.streams.content_batches).to(
            acc.device, non_blocking=True, memory_format=self.layout
        )
        style = next(self.streams.style_batches).to(
            acc.device, non_blocking=True, memory_format=self.layout
        )
        self.meter.data_ready()
        # no prepared scheduler: the lr is a function of the step
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.optim.lr, cfg.optim.lr_decay)
        out = self.objective(content, style, cfg.train.alpha)
        total = out["total"]
        if 0 <= cfg.train.debug_nan_at_step <= step:
            total = total * math.nan  # test hook: poison the loss from this step on
        # All ranks must agree to skip, or DDP's gradient all-reduce would hang on the ranks that
        # step; and to stop after this step (a SIGTERM reaches the ranks at different moments).
        # One all-reduce of two flags: the stop flag costs no extra collective.
        flags = torch.stack(
            [
                (~torch.isfinite(total.detach())).float().reshape(()),
                torch.tensor(float(interrupt.stop_requested()), device=total.device),
            ]
        )
        bad, self.stop_agreed = (acc.reduce(flags, "sum") > 0).tolist()
        if bad:
            self.skip(step)
        else:
            acc.backward(total)
            # clip_grad_norm_ unscales fp16 grads first; max_norm=inf measures without clipping
            # (coefficient 1)
            max_norm = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else math.inf
            grad_norm = acc.clip_grad_norm_(self.trainable, max_norm)
            self.optimizer.step()
            self.nonfinite_in_a_row = 0
            if acc.optimizer_step_was_skipped:
                # fp16: the GradScaler found inf/NaN gradients (its scale still too high, normal in
                # the first steps) and skipped the update; its inf grad norm would poison the window
                self.state.skipped_steps += 1
                log.info("fp16 gradient overflow at step %d: the GradScaler skipped it", step)
            else:
                self.good_steps += 1
                self.grad_norm_sum += grad_norm.detach().float()
                for key, value in out.items():
                    if key != "image":
                        self.loss_sums[key] = self.loss_sums.get(key, 0) + value.detach().float()
        self.optimizer.zero_grad(set_to_none=True)
        self.meter.step_done()

    def skip(self, step: int) -> None:
        """Count a non-finite step; stop once `train.max_nonfinite` happened in a row."""
        self.state.skipped_steps += 1
        self.nonfinite_in_a_row += 1
        log.warning(
            "non-finite loss at step %d: optimizer step skipped (%d in a row)",
            step,
            self.nonfinite_in_a_row,
        )
        if self.nonfinite_in_a_row >= self.cfg.train.max_nonfinite:
            # the skipped-step count reaches TensorBoard before the run stops
            self.log_window(step + 1)
            first = step + 1 - self.nonfinite_in_a_row
            raise NonFiniteLossError(
                f"the loss was non-finite at {self.nonfinite_in_a_row} steps in a row (steps "
                f"{first}-{step}, train.max_nonfinite={self.cfg.train.max_nonfinite}); training "
                f"stopped without saving. Last good checkpoint: {self.last_checkpoint()}. Try a "
                "lower optim.lr, optim.grad_clip > 0, or train.mixed_precision=no, then "
                "resume with --resume latest"
            )

    def last_checkpoint(self) -> str:
        if self.last_saved is None:
            return f"none yet (see {self.run_dir / 'checkpoints'})"
        return str(step_dir(self.run_dir, self.last_saved))

    def log_window(self, step: int) -> None:
        """Scalars averaged over the steps since the last log (steps that updated the weights only:
        no non-finite loss, no fp16 overflow) and over all ranks."""
        acc, window = self.accelerator, self.meter.take_window()
        values = {
            "train/skipped_steps": float(self.state.skipped_steps),
            "lr": lr_at(step - 1, self.cfg.optim.lr, self.cfg.optim.lr_decay),
            "throughput/images_per_s": window.images_per_s,
            "throughput/data_wait_fraction": window.data_wait_fraction,
        }
        if self.good_steps:
            keys = sorted(self.loss_sums)
            stacked = (
                torch.stack([self.loss_sums[k] for k in keys] + [self.grad_norm_sum])
                / self.good_steps
            )
            means = acc.reduce(stacked, "mean").tolist()  # every rank calls this at the same steps
            losses = {f"loss/{k}": v for k, v in zip(keys, means)}
            values.update(losses, grad_norm=means[-1])
            self.metrics = losses
        self.logger.scalars(values, step)
        self._reset_window()

    def log_grid(self, step: int) -> None:
        # no collective inside: the other ranks go on to the next barrier
        if self.accelerator.is_main_process:
            contents, styles = (x.to(self.accelerator.device) for x in self.val)
            sheet = validation_grid(
                self.net,
                contents,
                styles,
                self.cfg.train.alpha,
                self.accelerator.autocast,
                cell=min(self.cfg.data.crop, 256),
            )
            self.logger.grid(sheet, step)

    def save(self, step: int) -> None:
        """Resumable checkpoint (all ranks) and the release file (rank 0), refusing non-finite
        weights."""
        if not all(bool(torch.isfinite(p).all()) for p in self.trainable):
            raise NonFiniteLossError(
                f"the weights are non-finite at step {step}; not saving them. Last good "
                f"checkpoint: {self.last_checkpoint()}. Try a lower optim.lr or optim.grad_clip > 0"
            )
        self.state.model_config = to_json(self.cfg.model)
        # the same metadata in the step's weights and the release file: both load and evaluate
        # alike; the command (as typed: a resume's is the resume) and the machine go into the card
        meta = {
            "step": step,
            "config_name": self.cfg.name,
            "loss_config": to_json(self.cfg.loss),
            "device": device_name(self.accelerator.device),
            "command": shlex.join([*(interrupt.launcher_prefix() or ["python"]), *sys.argv]),
        }
        save_checkpoint(
            self.accelerator,
            self.run_dir,
            self.state,
            self.cfg.train.keep_last,
            self.accelerator.unwrap_model(self.objective),
            meta,
        )
        self.last_saved = step
        if self.accelerator.is_main_process:
            save_release(self.run_dir / RELEASE_FILE, self.net, meta)
