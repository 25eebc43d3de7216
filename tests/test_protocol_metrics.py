"""`python -m eval.styleid metrics` against implementations written here from StyleID's code and
the
papers (and the `lpips` reference package), on random weights every one of them loads from the same
files.

The references follow StyleID's code path literally: `Image.open().convert('RGB')`, torchvision
transforms on PIL images, the full (h*w)^2 similarity matrices, the (w, h) transposition of
PatchSimi,
StyleID's duplicated style set for FID, and scipy's sqrtm (in the span of the samples: both
covariances
vanish outside it, so the trace is the same and the 2048-d sqrtm's 150 s are avoided).
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from protocol_helpers import make_set, metric_weights  # noqa: F401 (fixture)
from torchvision.transforms import Compose, Grayscale, Normalize, Resize, ToTensor

from eval.styleid.command import main

RESIZE = 80  # Inception needs >= 75 px; StyleID's 512 would cost 40x more here
pytestmark = pytest.mark.usefixtures("one_thread")


def run(tmp: Path, folders: dict[str, Path], *extra: str) -> tuple[int, dict]:
    out = tmp / "out"
    code = main(
        [
            "metrics",
            "--stylized",
            str(folders["stylized"]),
            "--content",
            str(folders["content"]),
            "--style",
            str(folders["style"]),
            "--out",
            str(out),
            "--resize",
            str(RESIZE),
            "--device",
            "cpu",
            *extra,
        ]
    )
    with open(out / "metrics.csv") as handle:
        row = next(csv.DictReader(handle))
    return code, {k: (float(v) if v not in ("", row["method"]) else v) for k, v in row.items()}


def triples(folders: dict[str, Path]) -> list[tuple[Image.Image, Image.Image, Image.Image]]:
    """(output, content, style) in StyleID's sorted order, read as StyleID reads them."""
    read = lambda p: Image.open(p).convert("RGB")  # noqa: E731
    result = []
    for path in sorted(folders["stylized"].glob("*.png")):
        content, style = path.stem.split("_stylized_")
        result.append(
            (
                read(path),
                read(folders["content"] / f"{content}.png"),
                read(folders["style"] / f"{style}.png"),
            )
        )
    return result


def ref_cfsd(pairs, vgg_file: Path) -> float:
    """StyleID image_metrics.py PatchSimi, batch size 1, averaged over pairs
    (eval_artfid.py:372-382)."""
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    state = torch.load(vgg_file, weights_only=True)
    features.load_state_dict({k[len("features.") :]: v for k, v in state.items()})
    net = features[:12].eval()
    norm = Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

    def similarity(image, log):
        f = net(norm(ToTensor()(image))[None])
        b, c, h, w = f.shape
        rows = torch.transpose(f, 1, 3).reshape(b, h * w, c).div(c)
        s = torch.bmm(rows, rows.transpose(1, 2))
        return (F.log_softmax(s, -1) if log else F.softmax(s, -1)).reshape(b, -1)

    with torch.no_grad():
        kls = []
        for out, content in pairs:
            log_q, p = similarity(out, True), similarity(content, False)
            # KL, 'batchmean' over b = 1
            kls.append(((p * (p.log() - log_q)).sum() / p.shape[0]).item())
    return float(np.mean(kls))


def ref_lpips(pairs, alex_file: Path, gray: bool) -> tuple[float, float]:
    """LPIPS (Zhang et al. 2018, v0.1 AlexNet) from its definition, and the `lpips` package's
    value."""
    import lpips

    steps = [Resize(RESIZE), *([Grayscale()] if gray else []), ToTensor()]
    transform = Compose(steps)
    alex = torchvision.models.alexnet()
    alex.load_state_dict(torch.load(alex_file, weights_only=True))
    taps = (1, 4, 7, 9, 11)  # relu1..relu5 of torchvision's alexnet.features
    heads = torch.load(
        Path(lpips.__file__).parent / "weights/v0.1/alex.pth", map_location="cpu", weights_only=True
    )
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def feats(x):
        x, found = ((2 * x - 1) - shift) / scale, []
        for i, layer in enumerate(alex.features[:12]):
            x = layer(x)
            if i in taps:
                found.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return found

    package = lpips.LPIPS(net="alex", verbose=False).eval()
    ours, theirs = [], []
    with torch.no_grad():
        for out, content in pairs:
            a, b = (transform(im)[None].expand(-1, 3, -1, -1) for im in (out, content))
            d = sum(
                F.conv2d((fa - fb) ** 2, heads[f"lin{k}.model.1.weight"]).mean((2, 3))
                for k, (fa, fb) in enumerate(zip(feats(a), feats(b)))
            )
            ours.append(d.item())
            theirs.append(package(2 * a - 1, 2 * b - 1).item())
    return float(np.mean(ours)), float(np.mean(theirs))


def ref_fid(outputs, styles, inception_file: Path) -> float:
    """FID (eval_artfid.py:84-149) of 2048-d pool features; the style set holds one copy per
    output."""
    net = torchvision.models.Inception3(aux_logits=False, init_weights=False).eval()
    state = torch.load(inception_file, weights_only=True)
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc")}, strict=False)
    pooled = []
    net.avgpool.register_forward_hook(lambda m, i, o: pooled.append(o.flatten(1)))
    transform = Compose([Resize(RESIZE), ToTensor()])
    with torch.no_grad():
        x1 = np.concatenate(
            [(net(transform(im)[None]), pooled.pop())[1].double().numpy() for im in outputs]
        )
        x2 = np.concatenate(
            [(net(transform(im)[None]), pooled.pop())[1].double().numpy() for im in styles]
        )
    basis, _ = np.linalg.qr(np.concatenate([x1 - x1.mean(0), x2 - x2.mean(0)]).T)
    s1, s2 = np.cov(x1 @ basis, rowvar=False), np.cov(x2 @ basis, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1.dot(s2)).real
    diff = x1.mean(0) - x2.mean(0)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_conformance_with_independent_implementations(tmp_path, metric_weights):  # noqa: F811
    folders = make_set(tmp_path)
    code, row = run(tmp_path, folders, "--art-inception", str(metric_weights["art_inception"]))
    assert code == 0 and row["images"] == 6
    data = triples(folders)
    pairs = [(out, content) for out, content, _ in data]
    assert row["cfsd"] == pytest.approx(ref_cfsd(pairs, metric_weights["vgg"]), rel=1e-4)
    # the scaled random VGG gives a non-degenerate CFSD (see protocol_helpers)
    assert row["cfsd"] > 1e-3
    for key, gray in (("lpips", False), ("lpips_gray", True)):
        ours, package = ref_lpips(pairs, metric_weights["alexnet"], gray)
        assert row[key] == pytest.approx(ours, rel=1e-4) and row[key] == pytest.approx(
            package, rel=1e-4
        )
    fid = ref_fid([o for o, _, _ in data], [s for _, _, s in data], metric_weights["art_inception"])
    assert row["fid"] == pytest.approx(fid, rel=1e-4)
    assert row["artfid"] == pytest.approx((1 + row["lpips"]) * (1 + fid), rel=1e-4)


def test_identical_images_give_zero(tmp_path, metric_weights):  # noqa: F811
    """CFSD, LPIPS (RGB and gray) and the content loss of an image with itself are 0."""
    folders = make_set(tmp_path)
    for path in folders["stylized"].glob("*.png"):  # each output replaced by its content
        shutil.copy(folders["content"] / (path.stem.split("_stylized_")[0] + ".png"), path)
    code, row = run(tmp_path, folders, "--art-inception", str(metric_weights["art_inception"]))
    assert code == 0
    for key in ("cfsd", "lpips", "lpips_gray", "content_loss"):
        assert abs(row[key]) < 1e-5, key


def test_fid_of_a_set_with_itself_and_bad_files(tmp_path, metric_weights):  # noqa: F811
    """Outputs equal to their styles: FID ~0, style losses 0. Bad name, unreadable file, size
    mismatch:
    one stderr line each, the others measured."""
    folders = make_set(tmp_path)
    for path in list(folders["stylized"].glob("*.png")):
        path.unlink()
    for j in range(2):  # the style images as both contents and outputs, so sizes agree
        shutil.copy(folders["style"] / f"s{j}.png", folders["content"] / f"s{j}.png")
        shutil.copy(folders["style"] / f"s{j}.png", folders["stylized"] / f"s{j}_stylized_s{j}.png")
    (folders["stylized"] / "lonely.png").write_bytes(
        (folders["stylized"] / "s0_stylized_s0.png").read_bytes()
    )
    (folders["stylized"] / "s0_stylized_s1.png").write_bytes(b"not a png")
    Image.new("RGB", (10, 12)).save(folders["stylized"] / "c0_stylized_s1.png")
    out = tmp_path / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, row = run(tmp_path, folders, "--art-inception", str(metric_weights["art_inception"]))
    lines = err.getvalue().splitlines()
    assert code == 1 and row["images"] == 2
    assert (
        len([line for line in lines if line.startswith("bad name") and "lonely.png" in line]) == 1
    )
    assert (
        len(
            [
                line
                for line in lines
                if line.startswith("unreadable image") and "s0_stylized_s1" in line
            ]
        )
        == 1
    )
    assert (
        len(
            [
                line
                for line in lines
                if line.startswith("size mismatch") and "c0_stylized_s1" in line
            ]
        )
        == 1
    )
    assert abs(row["fid"]) < 1e-6 * max(1.0, abs(row["fid"]) + 1)
    # float32 softmax vs log_softmax of the same rows: ~1e-6 of rounding, against ~1e-2 for a real
    # pair
    assert row["style_loss"] == 0 and row["gram_loss"] == 0 and abs(row["cfsd"]) < 1e-5
    assert (out / "metrics.md").is_file()


def test_missing_weights_leave_their_columns_empty(tmp_path, metric_weights, monkeypatch):  # noqa: F811
    """Offline without AlexNet and art_inception: lpips/fid/artfid empty, one note each naming the
    file;
    CFSD and the losses (VGG19 present) still computed."""
    import tempfile

    import huggingface_hub.constants as hub

    home = tmp_path / "torch"
    (home / "hub/checkpoints").mkdir(parents=True)
    shutil.copy(metric_weights["vgg"], home / "hub/checkpoints" / metric_weights["vgg"].name)
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    folders = make_set(tmp_path)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, row = run(tmp_path, folders)
    notes = [line for line in err.getvalue().splitlines() if line.startswith("note:")]
    assert code == 1
    assert row["lpips"] == row["lpips_gray"] == row["fid"] == row["artfid"] == ""
    assert row["cfsd"] > 0 and row["content_loss"] > 0 and row["images"] == 6
    assert any("alexnet-owt" in n and "lpips" in n for n in notes)
    assert any("art_inception.pth" in n and "--art-inception" in n for n in notes)


def test_table_names_the_network_behind_cfsd_and_the_losses():
    """A table measured on HED's VGG16 says so (its CFSD and losses are not StyleID's VGG19 scale);
    the default network adds no such note."""
    from eval.styleid.metrics import MetricOptions, table_notes

    hed = table_notes(MetricOptions(vgg="hed"))
    assert any("HED's VGG16" in note and "--vgg-weights hed" in note for note in hed), hed
    default = table_notes(MetricOptions())
    assert not any("VGG16" in note for note in default), default
