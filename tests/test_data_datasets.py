"""StreamSampler stream properties (DDP partition, resume) and the defensive ImageFolderDataset."""

import io
import itertools
import logging

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image

from data_prep.datasets import (
    ImageFolderDataset,
    StreamSampler,
    epoch_of_step,
    load_fixed_images,
    make_loader,
)


def take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def batches(sampler, steps):
    """The first `steps` batches of a sampler (its stream split into batch_size chunks)."""
    stream = take(sampler, steps * sampler.batch_size)
    return [stream[i * sampler.batch_size : (i + 1) * sampler.batch_size] for i in range(steps)]


@pytest.mark.parametrize("world_size,batch_size", [(2, 3), (3, 2), (4, 1)])
def test_ranks_together_equal_one_process_with_world_times_batch(world_size, batch_size):
    n, steps = 7, 9  # 7 is not a multiple of any batch: batches straddle epoch boundaries
    single = batches(StreamSampler(n, world_size * batch_size, seed=3), steps)
    per_rank = [
        batches(StreamSampler(n, batch_size, seed=3, rank=r, world_size=world_size), steps)
        for r in range(world_size)
    ]
    for t in range(steps):
        assert sum((per_rank[r][t] for r in range(world_size)), []) == single[t]
    # and the ranks never draw the same position: all draw seeds are distinct
    seeds = [s for r in per_rank for batch in r for _, s in batch]
    assert len(set(seeds)) == len(seeds)


def test_sampler_deterministic_and_seed_dependent():
    a = take(StreamSampler(10, 4, seed=0), 40)
    assert a == take(StreamSampler(10, 4, seed=0), 40)
    assert [i for i, _ in a] != [i for i, _ in take(StreamSampler(10, 4, seed=1), 40)]
    assert all(0 <= s < 2**63 for _, s in a)


def test_each_epoch_is_a_permutation_and_epochs_differ():
    n = 12
    indices = [i for i, _ in take(StreamSampler(n, 5, seed=7), 3 * n)]
    epochs = [indices[e * n : (e + 1) * n] for e in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == list(range(n))
    assert epochs[0] != epochs[1] != epochs[2]


@pytest.mark.parametrize("start_step", [1, 4, 11])
def test_start_step_resumes_exact_tail(start_step):
    kwargs = dict(num_samples=9, batch_size=2, seed=5, rank=1, world_size=2)
    full = take(StreamSampler(**kwargs), (start_step + 6) * 2)
    resumed = take(StreamSampler(**kwargs, start_step=start_step), 6 * 2)
    assert resumed == full[start_step * 2 :]


def test_sampler_has_no_length_and_validates():
    with pytest.raises(TypeError):
        len(StreamSampler(5, 2, seed=0))
    with pytest.raises(ValueError, match="rank"):
        StreamSampler(5, 2, seed=0, rank=2, world_size=2)


def test_epoch_of_step():
    assert epoch_of_step(0, 4, 2, 10) == 0
    assert epoch_of_step(1, 4, 2, 10) == 0  # draws 8..15: starts in epoch 0
    assert epoch_of_step(2, 4, 2, 10) == 1
    assert epoch_of_step(5, 4, 2, 10) == 4


def _write_jpeg(path, w, h, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path, quality=95)


@pytest.fixture
def mixed_folder(tmp_path):
    """Good images of several sizes and modes plus two broken files, nested."""
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    _write_jpeg(root / "a.jpg", 96, 64, 0)
    _write_jpeg(root / "sub" / "tiny.jpg", 20, 24, 1)  # smaller than the crop
    Image.fromarray(np.full((50, 70), 90, np.uint8), mode="L").save(root / "c_gray.png")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buf, format="JPEG")
    (root / "b_trunc.jpg").write_bytes(buf.getvalue()[:200])
    (root / "d_text.jpg").write_text("not an image")
    (root / "readme.txt").write_text("ignored")
    return root


def test_dataset_shapes_determinism_and_bad_file_replacement(mixed_folder, caplog):
    ds = ImageFolderDataset(mixed_folder, resize=40, crop=32)
    names = [p.name for p in ds.files]
    assert names == ["a.jpg", "b_trunc.jpg", "c_gray.png", "d_text.jpg", "tiny.jpg"]
    with caplog.at_level(logging.WARNING, logger="data_prep.datasets"):
        outs = [ds[(i, 1234)] for i in range(len(ds)) for _ in range(3)]
    for x in outs:
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        assert 0 <= x.min() and x.max() <= 1
    # bad files: logged once each despite repeated reads, and recorded with their reason
    warned = [r.getMessage() for r in caplog.records]
    assert sum("b_trunc.jpg" in m for m in warned) == 1
    assert sum("d_text.jpg" in m for m in warned) == 1
    assert len(warned) == 2
    assert {p.name for p in ds.bad_files} == {"b_trunc.jpg", "d_text.jpg"}
    assert "truncated" in ds.bad_files[mixed_folder / "b_trunc.jpg"]
    # a bad index is replaced deterministically by the next readable one, same draw seed
    assert torch.equal(ds[(1, 99)], ds[(2, 99)])
    assert torch.equal(ds[(3, 99)], ds[(4, 99)])
    # same (index, seed) -> same tensor; other seeds -> other crops/flips
    assert torch.equal(ds[(0, 7)], ds[(0, 7)])
    assert any(not torch.equal(ds[(0, 7)], ds[(0, s)]) for s in range(8, 12))
    assert torch.equal(ds[0], ds[(0, 0)])  # a plain int index means draw_seed = index


def test_grayscale_becomes_rgb(mixed_folder):
    gray = ImageFolderDataset(mixed_folder, resize=32, crop=32)[(2, 0)]
    assert gray.shape == (3, 32, 32)
    assert torch.allclose(gray, torch.full_like(gray, 90 / 255), atol=1 / 255)


@pytest.fixture
def asymmetric_folder(tmp_path):
    """One square image whose left and right halves differ: a crop of the full image, so only a flip
    moves it."""
    root = tmp_path / "asym"
    root.mkdir()
    arr = np.zeros((32, 32, 3), np.uint8)
    arr[..., 0] = np.linspace(0, 255, 32, dtype=np.uint8)[
        None, :
    ]  # red ramps up from left to right
    arr[:8, :8] = (0, 255, 0)  # and a green block in the top-left corner
    Image.fromarray(arr).save(root / "asym.png")
    return root


@pytest.mark.parametrize("flip", [True, False])
def test_flip_flag_decides_whether_draws_are_mirrored(asymmetric_folder, flip):
    ds = ImageFolderDataset(asymmetric_folder, resize=32, crop=32, flip=flip)
    image = TF.to_dtype(
        TF.pil_to_tensor(Image.open(asymmetric_folder / "asym.png")), torch.float32, scale=True
    )
    assert not torch.equal(image, image.flip(-1))
    draws = [ds[(0, s)] for s in range(40)]
    mirrored = sum(torch.equal(x, image.flip(-1)) for x in draws)
    unchanged = sum(torch.equal(x, image) for x in draws)
    # the crop is the whole image: nothing else may change it
    assert mirrored + unchanged == len(draws)
    if flip:  # a fair coin per draw seed: 40 draws all alike would have probability 2 * 2**-40
        assert mirrored > 0 and unchanged > 0
    else:
        assert mirrored == 0


def test_all_bad_folder_raises_naming_it(tmp_path):
    bad = tmp_path / "broken_set"
    bad.mkdir()
    (bad / "x.jpg").write_text("nope")
    (bad / "y.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="no readable image in .*broken_set"):
        ImageFolderDataset(bad, resize=32, crop=32)


def test_folder_without_images_raises_naming_it(tmp_path):
    empty = tmp_path / "empty_set"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files in .*empty_set"):
        ImageFolderDataset(empty)
    with pytest.raises(FileNotFoundError, match="absent"):
        ImageFolderDataset(tmp_path / "absent")


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_batches_follow_the_sampler(mixed_folder, num_workers):
    ds = ImageFolderDataset(mixed_folder, resize=32, crop=32)
    sampler = StreamSampler(len(ds), batch_size=2, seed=0, start_step=3)
    loader = make_loader(ds, sampler, batch_size=2, num_workers=num_workers)
    got = list(itertools.islice(iter(loader), 4))
    expected = batches(StreamSampler(len(ds), batch_size=2, seed=0, start_step=3), 4)
    for batch, items in zip(got, expected, strict=True):
        assert batch.shape == (2, 3, 32, 32)
        assert torch.equal(batch, torch.stack([ds[item] for item in items]))
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(ds, sampler, batch_size=3, num_workers=0)


def test_load_fixed_images(mixed_folder, tmp_path):
    x = load_fixed_images(mixed_folder, n=2, size=16)
    assert x.shape == (2, 3, 16, 16)
    assert torch.equal(x, load_fixed_images(mixed_folder, n=2, size=16))
    # skipped the truncated one
    assert torch.allclose(x[1], torch.full_like(x[1], 90 / 255), atol=1 / 255)
    assert load_fixed_images(mixed_folder, n=10, size=16).shape[0] == 3  # only 3 readable
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_text("nope")
    with pytest.raises(ValueError, match="no readable image in .*bad"):
        load_fixed_images(tmp_path / "bad", n=2, size=16)
