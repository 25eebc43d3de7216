"""Defensive image IO: every awkward file kind decodes to correct 8-bit RGB or a clear \
ImageReadError."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from media.images import (
    ImageReadError,
    list_images,
    load_image,
    read_image,
    save_image,
    to_tensor,
)


def _jpeg_bytes(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, **kwargs)
    return buf.getvalue()


def _noise(w, h, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), mode="RGB")


def test_list_images_sorted_nested_case_insensitive(tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ["z.PNG", "a.jpg", "b/c/x.JpEg", "b/y.webp", "notes.txt", "b/c/img.gif"]:
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == [
        "a.jpg",
        "b/c/img.gif",
        "b/c/x.JpEg",
        "b/y.webp",
        "z.PNG",
    ]  # a GIF is read (first frame)
    assert [p.name for p in list_images(tmp_path, recursive=False)] == ["a.jpg", "z.PNG"]
    with pytest.raises(FileNotFoundError, match="missing"):
        list_images(tmp_path / "missing")


def test_truncated_jpeg_raises_with_reason(tmp_path):
    data = _jpeg_bytes(_noise(64, 64))
    path = tmp_path / "trunc.jpg"
    path.write_bytes(data[: len(data) // 2])
    Image.open(path)  # opening succeeds: the failure only shows on decode
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert info.value.path == path
    assert "truncated" in info.value.reason
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "fake.jpg"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "nope.png")


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    path.write_bytes(_jpeg_bytes(Image.new("CMYK", (32, 32), (0, 255, 255, 0))))  # pure red in CMYK
    img = read_image(path)
    assert img.mode == "RGB" and img.size == (32, 32)
    r, g, b = img.getpixel((16, 16))
    assert r > 240 and g < 15 and b < 15


def test_16bit_png_scaled_not_clipped(tmp_path):
    levels = np.array([0, 257 * 64, 257 * 128, 65535], dtype=np.uint16)
    arr = np.repeat(levels, 8).reshape(1, -1).repeat(4, axis=0)  # 4 x 32, four level bands
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    out = np.asarray(read_image(path))
    assert out.shape == (4, 32, 3)
    np.testing.assert_array_equal(out[0, ::8, 0], [0, 64, 128, 255])
    assert (out[..., 0] == out[..., 2]).all()


def test_rgba_png_composited_on_white(tmp_path):
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 0] = 200  # red everywhere, also under transparent pixels
    arr[:4, :, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(arr, mode="RGBA").save(path)
    img = read_image(path)
    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) == (200, 0, 0)
    assert img.getpixel((0, 7)) == (255, 255, 255)


def test_palette_png_with_transparency(tmp_path):
    img = Image.new("P", (8, 8), 1)
    img.putpalette([0, 0, 0, 10, 200, 30] + [0] * (254 * 3))
    img.putpixel((0, 0), 0)
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    out = read_image(path)
    assert out.mode == "RGB"
    assert out.getpixel((5, 5)) == (10, 200, 30)
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_grayscale_to_rgb_tensor(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((10, 12), 51, np.uint8), mode="L").save(path)
    x = load_image(path)
    assert x.dtype == torch.float32 and x.shape == (3, 10, 12)
    assert torch.allclose(x, torch.full_like(x, 0.2))


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (48, 24), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 8, 8))  # marker in the top-left corner
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rot.jpg"
    path.write_bytes(_jpeg_bytes(img, exif=exif.tobytes()))
    out = read_image(path)
    assert out.size == (24, 48)
    r, g, b = out.getpixel((20, 3))  # top-left corner moved to the top-right
    assert r > 200 and b < 60


def test_decompression_bomb_raises_image_read_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("RGB", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # > 2x the limit is an error, not a warning
    with pytest.raises(ImageReadError, match="decompression bomb"):
        read_image(path)


def test_load_image_resize_rules(tmp_path):
    path = tmp_path / "wide.png"
    _noise(80, 40).save(path)
    assert load_image(path).shape == (3, 40, 80)
    assert load_image(path, size=20).shape == (3, 20, 40)
    assert load_image(path, size=64).shape == (3, 40, 80)  # no upscaling by default
    assert load_image(path, size=64, upscale=True).shape == (3, 64, 128)
    assert load_image(path, max_size=60).shape == (3, 30, 60)
    assert load_image(path, size=30, max_size=50).shape == (3, 25, 50)


def test_to_tensor_range_and_values():
    img = Image.fromarray(np.array([[[0, 128, 255]]], np.uint8), mode="RGB")
    x = to_tensor(img)
    assert x.shape == (3, 1, 1) and x.dtype == torch.float32
    assert torch.allclose(x.flatten(), torch.tensor([0.0, 128 / 255, 1.0]))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_save_image_roundtrip_atomic(tmp_path, ext):
    # A smooth image: lossy codecs keep it close, so a wrong channel order or scale would show.
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 32), indexing="ij")
    x = torch.stack([xx, yy, 1 - xx * yy])
    path = tmp_path / "nested" / "dir" / f"out{ext}"
    save_image(x, path)
    assert path.is_file()
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind
    assert Image.open(path).format == {".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP"}[ext]
    back = load_image(path)
    assert back.shape == x.shape
    if ext == ".png":
        assert (back - x).abs().max() <= 0.5 / 255 + 1e-6
    else:
        assert (back - x).abs().mean() < 0.02


def test_save_image_failure_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    save_image(torch.zeros(3, 8, 8), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.ones(3, 8, 8), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]
