"""Training data whose randomness is a pure function of (seed, draw position).

The global draw position p counts samples across all steps and ranks. Sample order, crop and flip
derive from (seed, p) only, so a resumed run (new sampler with `start_step`) or a W-process run sees
exactly the samples an uninterrupted single-process run with W times the batch would have seen.
This replaces accelerate's dataloader sharding: pass these loaders to the training loop directly,
not through `accelerator.prepare`, which would shard the already rank-specific stream again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from media.images import IMAGE_EXTENSIONS, ImageReadError, list_images, read_image

log = logging.getLogger(__name__)


def stable_hash(*parts: int | str) -> int:
    """Deterministic 63-bit hash of its arguments (Python's hash() is salted per process for
    str)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def epoch_of_step(step: int, batch_size: int, world_size: int, num_samples: int) -> int:
    """Epoch (pass over the data set) that the first draw of training step `step` belongs to."""
    return (step * batch_size * world_size) // num_samples


class StreamSampler(Sampler):
    """Infinite, stateless sampler yielding `(index, draw_seed)` tuples.

    Draw position p maps to epoch p // num_samples and slot p % num_samples of that epoch's
    permutation (a `torch.Generator` seeded with a hash of (seed, epoch)). Step t of rank r takes
    positions `t*B*W + r*B + j`, j < B, so ranks 0..W-1 concatenated equal one process with batch
    W*B. Resuming at step t is `StreamSampler(..., start_step=t)`: there is no state to save.

    Args:
        num_samples: Size of the data set.
        batch_size: Per-process batch size B (the DataLoader must use the same value).
        seed: Experiment seed.
        rank: This process's rank r.
        world_size: Number of processes W.
        start_step: First training step to yield.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        start_step: int = 0,
    ):
        if num_samples < 1 or batch_size < 1 or world_size < 1 or start_step < 0:
            raise ValueError(
                f"StreamSampler needs num_samples, batch_size, world_size >= 1 and start_step >= "
                f"0, got {num_samples=}, {batch_size=}, {world_size=}, {start_step=}"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start_step = start_step
        self._epoch = -1
        self._perm: list[int] = []

    def _permutation(self, epoch: int) -> list[int]:
        if epoch != self._epoch:  # one epoch cached: positions only move forward within an iterator
            gen = torch.Generator().manual_seed(stable_hash("perm", self.seed, epoch))
            self._perm = torch.randperm(self.num_samples, generator=gen).tolist()
            self._epoch = epoch
        return self._perm

    def draw(self, position: int) -> tuple[int, int]:
        """The `(index, draw_seed)` at global draw position `position`."""
        epoch, slot = divmod(position, self.num_samples)
        return self._permutation(epoch)[slot], stable_hash("draw", self.seed, position)

    def positions(self, step: int) -> range:
        """Global draw positions of this rank's batch at training step `step`."""
        start = step * self.batch_size * self.world_size + self.rank * self.batch_size
        return range(start, start + self.batch_size)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        step = self.start_step
        while True:
            for p in self.positions(step):
                yield self.draw(p)
            step += 1

    def __len__(self) -> int:
        # DataLoader never needs the length of its sampler to iterate; len(loader) raises like this.
        raise TypeError("StreamSampler is infinite: iterate by training step, it has no length")


class ImageFolderDataset(Dataset):
    """Images of a folder (nested allowed), resized, randomly cropped and flipped per draw seed.

    Items are float32 (3, crop, crop) in [0, 1]. A file that fails to decode is logged once per
    process, recorded in `bad_files`, and replaced by the next readable index (same draw seed), so
    the replacement is deterministic and never a grey fill.

    Args:
        root: Image folder.
        resize: Short side before cropping; small images are enlarged to it. None keeps the file
            size (still enlarging images whose short side is below `crop`).
        crop: Side of the square random crop.
        flip: Random horizontal flip with probability 0.5.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: `root` has no image file, or none of them decodes.
    """

    def __init__(
        self, root: str | os.PathLike, resize: int | None = 512, crop: int = 256, flip: bool = True
    ):
        self.root = Path(root)
        if resize is not None and resize < crop:
            raise ValueError(
                f"resize ({resize}) must be >= crop ({crop}) so the crop fits in the image"
            )
        self.resize = resize
        self.crop = crop
        self.flip = flip
        self.files = list_images(self.root)
        if not self.files:
            raise ValueError(
                f"no image files in {self.root} (looked recursively for {sorted(IMAGE_EXTENSIONS)})"
            )
        self.bad_files: dict[Path, str] = {}
        self._reported: set[Path] = set()
        # Fail at construction, not in a worker hours later, when nothing in the folder decodes.
        for i in range(len(self.files)):
            if self._read(i) is not None:
                break
        else:
            raise ValueError(
                f"no readable image in {self.root}: all {len(self.files)} files fail to decode"
            )

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, i: int) -> Image.Image | None:
        """Decoded image of file i, or None (reported once) if it does not decode."""
        path = self.files[i]
        if path in self.bad_files:
            return None
        try:
            return read_image(path)
        except ImageReadError as e:
            self.bad_files[path] = e.reason
            if path not in self._reported:
                self._reported.add(path)
                log.warning("skipping unreadable image %s: %s", path, e.reason)
            return None

    def transform(self, img: Image.Image, draw_seed: int) -> torch.Tensor:
        """Resize, crop and flip a PIL image with parameters drawn from `draw_seed`."""
        x = TF.pil_to_tensor(img)  # uint8 (3, H, W): resizing uint8 is faster than float
        short = min(x.shape[-2:])
        target = max(self.resize if self.resize is not None else short, self.crop)
        if short != target:
            x = TF.resize(x, [target], antialias=True)  # one int: the short side, aspect kept
        gen = torch.Generator().manual_seed(draw_seed)
        h, w = x.shape[-2:]
        top = int(torch.randint(0, h - self.crop + 1, (1,), generator=gen))
        left = int(torch.randint(0, w - self.crop + 1, (1,), generator=gen))
        x = TF.crop(x, top, left, self.crop, self.crop)
        if self.flip and float(torch.rand((), generator=gen)) < 0.5:
            x = TF.horizontal_flip(x)
        return TF.to_dtype(x, torch.float32, scale=True)

    def __getitem__(self, item: int | tuple[int, int]) -> torch.Tensor:
        index, draw_seed = item if isinstance(item, tuple) else (item, item)
        n = len(self.files)
        for offset in range(n):
            img = self._read((index + offset) % n)
            if img is not None:
                return self.transform(img, draw_seed)
        raise ValueError(f"no readable image in {self.root}: all {n} files failed to decode")


def make_loader(
    dataset: Dataset,
    sampler: StreamSampler,
    batch_size: int,
    num_workers: int,
    pin_memory: bool = False,
) -> DataLoader:
    """An infinite DataLoader over `sampler`; `batch_size` must equal the sampler's per-rank
    batch."""
    if batch_size != sampler.batch_size:
        raise ValueError(
            f"loader batch_size {batch_size} != sampler batch_size {sampler.batch_size}: "
            "batches would straddle training steps and break resume/DDP equivalence"
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=num_workers > 0,
        prefetch_factor=2 if num_workers > 0 else None,
    )


def load_fixed_images(folder: str | os.PathLike, n: int, size: int) -> torch.Tensor:
    """The first n readable images of a folder (sorted), short side resized + center crop.

    A deterministic set for the fixed validation grid. Returns (k, 3, size, size), k <= n.

    Raises:
        ValueError: The folder has no readable image.
    """
    images, files = [], list_images(folder)
    for path in files:
        if len(images) == n:
            break
        try:
            img = read_image(path)
        except ImageReadError as e:
            log.warning("skipping unreadable image %s: %s", path, e.reason)
            continue
        x = TF.resize(TF.pil_to_tensor(img), [size], antialias=True)
        images.append(TF.to_dtype(TF.center_crop(x, [size, size]), torch.float32, scale=True))
    if not images:
        raise ValueError(f"no readable image in {folder} ({len(files)} image files, none decodes)")
    if len(images) < n and len(images) < len(files):  # every file was tried: some fail to decode
        log.warning("only %d of the %d requested images are readable in %s", len(images), n, folder)
    elif len(images) < n:  # a small folder, not a broken one
        log.warning("%s holds %d images, fewer than the %d requested", folder, len(files), n)
    return torch.stack(images)
