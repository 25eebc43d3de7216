"""Domain-level style: a folder pooled into one style, saved once, reused exactly (infer.py and \
eval.evaluate)."""

import shutil

import numpy as np
import pytest
import torch
from conftest import vgg_config
from PIL import Image

import infer
from eval.evaluate import main as evaluate_main
from media.images import load_image
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from conftest import vary_outputs

    root = tmp_path_factory.mktemp("domain")
    torch.manual_seed(0)
    net = StyleTransferNet(vgg_config())
    vary_outputs(net)
    ckpt = save_release(root / "m.safetensors", net)
    rng = np.random.default_rng(0)
    (root / "styles").mkdir()
    for k in range(3):
        arr = np.clip(rng.normal(60 + 70 * k, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(root / "styles" / f"s{k}.png")
    y, x = np.mgrid[0:48, 0:64] / 8.0
    Image.fromarray(
        ((np.stack([np.sin(x), np.cos(y), np.sin(x + y)], -1) * 0.4 + 0.5) * 255).astype(np.uint8)
    ).save(root / "c.png")
    return dict(root=root, ckpt=str(ckpt))


def run(world, out, *flags):
    return infer.stylize(
        [
            "--checkpoint",
            world["ckpt"],
            "--weights",
            "random",
            "--content",
            str(world["root"] / "c.png"),
            "--out",
            str(world["root"] / out),
            *flags,
        ]
    )


@pytest.mark.parametrize("transform", ["adain", "wct", "efdm"])
def test_pooling_copies_of_one_image_equals_that_image(world, transform):
    copies = world["root"] / f"copies_{transform}"
    copies.mkdir()
    for k in range(3):
        shutil.copy(world["root"] / "styles" / "s1.png", copies / f"c{k}.png")
    (single,) = run(
        world,
        f"single_{transform}",
        "--style",
        str(world["root"] / "styles" / "s1.png"),
        "--transform",
        transform,
    )["written"]
    (pooled,) = run(
        world, f"pooled_{transform}", "--style-domain", str(copies), "--transform", transform
    )["written"]
    assert (load_image(single) - load_image(pooled)).abs().max() <= 1 / 255


def test_saved_statistics_reproduce_the_pooled_result_exactly(world):
    stats = world["root"] / "anime.safetensors"
    summary = run(
        world, "domain", "--style-domain", str(world["root"] / "styles"), "--save-style", str(stats)
    )
    (pooled,) = summary["written"]
    assert pooled.endswith("c__domain-styles.png") and stats.is_file()
    (again,) = run(world, "from_stats", "--style", str(stats))["written"]
    assert torch.equal(load_image(pooled), load_image(again))
    one = load_image(
        run(world, "one", "--style", str(world["root"] / "styles" / "s0.png"))["written"][0]
    )
    assert (one - load_image(pooled)).abs().mean() > 0.01  # the domain is not its first image
    # statistics of one transform are never fed to another
    with pytest.raises(infer.InferError, match="wct"):
        run(world, "wrong", "--style", str(stats), "--transform", "wct")


def test_evaluate_with_a_style_domain(world, tmp_path):
    (tmp_path / "content" / "val").mkdir(parents=True)
    (tmp_path / "style" / "val").mkdir(parents=True)
    shutil.copy(world["root"] / "c.png", tmp_path / "content" / "val" / "c.png")
    shutil.copy(world["root"] / "styles" / "s0.png", tmp_path / "style" / "val" / "s0.png")
    common = [
        "--checkpoint",
        world["ckpt"],
        "--weights",
        "random",
        "--feature-net",
        "random",
        "--size",
        "32",
    ]
    from eval.evaluate import evaluate

    plain = evaluate(
        [world["ckpt"]],
        tmp_path / "plain",
        weights="random",
        feature_net="random",
        size=32,
        data_root=tmp_path,
    )
    domain = evaluate(
        [world["ckpt"]],
        tmp_path / "dom",
        weights="random",
        feature_net="random",
        size=32,
        data_root=tmp_path,
        style_domain=world["root"] / "styles",
    )
    assert plain[0]["style_mean_std"] != domain[0]["style_mean_std"]
    # the flag reaches evaluate(): a folder without images is a one-line error
    with pytest.raises(SystemExit):
        evaluate_main(
            [*common, "--style-domain", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]
        )
