"""infer.py under bad input: nothing lost, nothing overwritten, no aborted batch."""

import os
from pathlib import Path

import awkward
import numpy as np
import pytest
import torch
from PIL import Image

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust")
    torch.manual_seed(0)
    ckpt = save_release(
        root / "m.safetensors",
        StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig())),
    )
    expect = awkward.build(root)
    style = root / "style.png"
    Image.fromarray(awkward._photo(32, 32, 20)).save(style)
    return dict(root=root, ckpt=str(ckpt), expect=expect, style=str(style))


def cli(world, *argv, capsys=None):
    code = infer.main(["--checkpoint", world["ckpt"], "--weights", "random", *argv])
    return code, (capsys.readouterr() if capsys else None)


def test_awkward_folder_every_file_used_or_listed_and_inputs_unchanged(world, capsys):
    folder = world["root"] / "awkward"
    before = awkward.checksums(world["root"])
    out = world["root"] / "out_awkward"
    code, io = cli(
        world, "--content", str(folder), "--style", world["style"], "--out", str(out), capsys=capsys
    )
    assert code == 1, io.err  # some inputs failed: listed, the rest written
    written = sorted(p.name for p in out.iterdir())
    ok = [n for n, k in world["expect"].items() if k == "ok"]
    # every readable image, each under its own name
    assert len(written) == len(ok) == len(set(written))
    assert {"日本__style.png", "中国__style.png", "한국__style.png"} <= set(written)
    assert {"photo-jpg__style.png", "photo-png__style.png", "photo-webp__style.png"} <= set(written)
    for name in ("tiny_1x1", "thin_3x400", "small_8x8"):  # padded for the network, cropped back
        src = Image.open(folder / f"{name}.png")
        assert Image.open(out / f"{name}__style.png").size == src.size
    for name, kind in world["expect"].items():
        if kind == "bad":
            assert f"failed: {folder / name}:" in io.err, name
        if kind == "link":
            assert f"ignored: {folder / name}: directory link" in io.err
    assert f"written {len(ok)} to {out}" in io.out
    after = awkward.checksums(world["root"])
    assert all(after.get(name) == data for name, data in before.items())  # no input file changed


def test_names_do_not_depend_on_input_order(world):
    folder = world["root"] / "awkward"
    files = [str(folder / n) for n in ("photo.webp", "photo.jpg", "日本.jpg", "photo.png")]
    a = infer.stylize(
        [
            "--checkpoint",
            world["ckpt"],
            "--weights",
            "random",
            "--content",
            *files,
            "--style",
            world["style"],
            "--out",
            str(world["root"] / "order_a"),
        ]
    )
    b = infer.stylize(
        [
            "--checkpoint",
            world["ckpt"],
            "--weights",
            "random",
            "--content",
            *reversed(files),
            "--style",
            world["style"],
            "--out",
            str(world["root"] / "order_b"),
        ]
    )
    assert sorted(Path(p).name for p in a["written"]) == sorted(Path(p).name for p in b["written"])


def test_symlink_loop_each_image_once(world):
    tree = world["root"] / "loopy"
    (tree / "a").mkdir(parents=True)
    Image.fromarray(awkward._photo(24, 24, 30)).save(tree / "a" / "x.png")
    os.symlink("..", tree / "a" / "up")
    os.symlink("../..", tree / "a" / "upup")
    for value in (str(tree), str(tree / "**" / "*.png")):
        summary = infer.stylize(
            [
                "--checkpoint",
                world["ckpt"],
                "--weights",
                "random",
                "--content",
                value,
                "--style",
                world["style"],
                "--out",
                str(world["root"] / "loop_out"),
                "--overwrite",
            ]
        )
        assert [Path(p).name for p in summary["written"]] == ["x__style.png"]
    assert {
        Path(i["path"]).name
        for i in infer.stylize(
            [
                "--checkpoint",
                world["ckpt"],
                "--weights",
                "random",
                "--content",
                str(tree),
                "--style",
                world["style"],
                "--out",
                str(world["root"] / "loop_out"),
                "--overwrite",
            ]
        )["ignored"]
    } == {"up", "upup"}


def test_grid_and_outputs_never_replace_inputs(world):
    folder = world["root"] / "gridin"
    folder.mkdir()
    Image.fromarray(awkward._photo(24, 24, 31)).save(folder / "grid.png")
    before = (folder / "grid.png").read_bytes()
    with pytest.raises(infer.InferError, match="over an input file"):
        infer.stylize(
            [
                "--checkpoint",
                world["ckpt"],
                "--weights",
                "random",
                "--content",
                str(folder),
                "--style",
                world["style"],
                "--out",
                str(folder),
                "--grid",
            ]
        )
    assert (folder / "grid.png").read_bytes() == before


def test_names_encode_colour_mode_and_existing_files_are_kept(world, capsys):
    out = world["root"] / "colour"
    base = [
        "--content",
        str(world["root"] / "awkward" / "plain.png"),
        "--style",
        world["style"],
        "--out",
        str(out),
    ]
    assert cli(world, *base, "--preserve-color", "luminance")[0] == 0
    assert cli(world, *base, "--preserve-color", "covariance")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "plain__style__cov.png",
        "plain__style__lum.png",
    ]
    before = (out / "plain__style__lum.png").read_bytes()
    code, io = cli(world, *base, "--preserve-color", "luminance", "--alpha", "1", capsys=capsys)
    assert code == 2 and "already exist" in io.err and "--overwrite" in io.err
    assert (out / "plain__style__lum.png").read_bytes() == before


def test_out_must_be_a_folder_checked_before_loading(world, capsys):
    (world["root"] / "afile.txt").write_text("x")
    for out, needle in (
        (world["root"] / "afile.txt", "existing file"),
        (world["root"] / "out.png", "file name"),
    ):
        code = infer.main(
            [
                "--checkpoint",
                str(world["root"] / "missing.safetensors"),
                "--content",
                world["style"],
                "--style",
                world["style"],
                "--out",
                str(out),
            ]
        )
        err = capsys.readouterr().err
        # the model was never loaded
        assert code == 2 and needle in err and "missing.safetensors" not in err
    assert not (world["root"] / "out.png").exists()


def test_optimization_small_inputs_fail_alone_and_scales_are_capped(world, capsys):
    folder = world["root"] / "awkward"
    out = world["root"] / "opt"
    code, io = cli(
        world,
        "--method",
        "optimize",
        "--content",
        str(folder / "tiny_1x1.png"),
        str(folder / "plain.png"),
        "--style",
        world["style"],
        "--out",
        str(out),
        "--steps",
        "2",
        "--scales",
        "24,64",
        capsys=capsys,
    )
    assert code == 1 and "tiny_1x1.png" in io.err and "16 px" in io.err
    (written,) = list(out.iterdir())
    # 64 capped at the short side 40
    assert Image.open(written).size == Image.open(folder / "plain.png").size


def test_mask_aspect_refused_size_resized_with_warning(world, capsys):
    content = world["root"] / "awkward" / "plain.png"  # 56 x 40
    style2 = world["root"] / "style2.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(style2)
    for size, ok in (((112, 80), True), ((40, 40), False)):
        mask = np.zeros((size[1], size[0], 3), np.uint8)
        mask[:, size[0] // 2 :] = 255
        Image.fromarray(mask).save(world["root"] / "mask.png")
        code, io = cli(
            world,
            "--content",
            str(content),
            "--style",
            world["style"],
            str(style2),
            "--mask",
            str(world["root"] / "mask.png"),
            "--out",
            str(world["root"] / f"mask{size[0]}"),
            capsys=capsys,
        )
        assert code == (0 if ok else 1), io.err
        assert ("resized to the content" in io.err) if ok else ("aspect ratio" in io.err)


def test_evaluate_never_writes_over_its_pairs_manifest(world, capsys):
    from eval.evaluate import main as evaluate_main
    from eval.pairs import Pair, write_pairs

    folder = world["root"] / "evalin"
    manifest = write_pairs(
        [Pair(world["root"] / "awkward" / "plain.png", Path(world["style"]))], folder / "pairs.json"
    )
    before = manifest.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main(
            [
                "--checkpoint",
                world["ckpt"],
                "--pairs",
                str(manifest),
                "--out",
                str(folder),
                "--weights",
                "random",
                "--feature-net",
                "random",
                "--size",
                "32",
            ]
        )
    assert exit_info.value.code == 2 and "would overwrite an input" in capsys.readouterr().err
    assert manifest.read_bytes() == before


@pytest.mark.parametrize("key", ["model_config", "plugins"])
def test_deeply_nested_metadata_is_one_line(world, tmp_path, capsys, key):
    """A hostile release file: metadata of 100,000 nested brackets (json recurses past Python's
    limit) is one line naming the file and the key, like the other bad-metadata cases."""
    from safetensors.torch import load_file, save_file

    from weights.checkpoint import read_metadata

    hostile = tmp_path / "hostile.safetensors"
    meta = {**read_metadata(world["ckpt"]), key: "[" * 100_000 + "]" * 100_000}
    save_file(load_file(world["ckpt"]), str(hostile), metadata=meta)
    code = infer.main(
        [
            *("--checkpoint", str(hostile), "--weights", "random"),
            *("--content", world["style"], "--style", world["style"]),
            *("--out", str(tmp_path / "out")),
        ]
    )
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if not line.startswith("WARNING: --weights random")]
    assert code == 2 and len(errors) == 1, err
    assert errors[0].startswith("error: ") and str(hostile) in errors[0], errors
    assert f"{key} metadata" in errors[0] and "release file written by" in errors[0], errors
    assert not (tmp_path / "out").exists()
