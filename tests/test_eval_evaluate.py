"""`python -m eval.evaluate` end to end on tiny random-weight checkpoints: tables, grids, \
TensorBoard
hparams, learned metrics as numbers (random feature nets) or 'unavailable: ...' (offline),
determinism."""

import csv
import json

import pytest
import torch
from conftest import vgg_config, vit_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from configs.schema import DecoderConfig, LossConfig, to_json
from eval.evaluate import main
from eval.learned_metrics import UNAVAILABLE
from eval.tables import TIMING_COLUMN
from media.images import save_image
from models.net import StyleTransferNet
from weights.release import save_release

LEARNED = ("lpips", "fid", "kid_mean", "kid_std", "artfid")
SIZE = "32"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    g = torch.Generator().manual_seed(0)
    pairs = []
    for i in range(2):
        save_image(torch.rand(3, 40, 48, generator=g), root / "content" / f"c{i}.png")
        save_image(torch.rand(3, 36, 36, generator=g), root / "style" / f"s{i}.png")
    pairs = [
        {"content": f"content/c{i}.png", "style": f"style/s{j}.png"}
        for i in range(2)
        for j in range(2)
    ]
    (root / "pairs.json").write_text(json.dumps({"pairs": pairs}))
    torch.manual_seed(0)
    vgg = vgg_config()
    vgg.decoder = DecoderConfig(kind="mirror_vgg", width=8)
    vit = vit_config()
    vit.decoder = DecoderConfig(kind="transposed_conv", width=8)
    meta = {"step": 7, "config_name": "tiny", "loss_config": to_json(LossConfig())}
    save_release(root / "vgg.safetensors", StyleTransferNet(vgg), meta)
    save_release(root / "vit.safetensors", StyleTransferNet(vit))
    return root


def run(setup, out, *extra):
    return main(
        [
            "--checkpoint",
            str(setup / "vgg.safetensors"),
            str(setup / "vit.safetensors"),
            "--pairs",
            str(setup / "pairs.json"),
            "--weights",
            "random",
            "--size",
            SIZE,
            "--out",
            str(out),
            *extra,
        ]
    )


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def two_runs(setup):
    extra = ("--feature-net", "random", "--optimize-baseline", "--baseline-steps", "2")
    return [(run(setup, setup / f"out{i}", *extra), setup / f"out{i}") for i in range(2)]


def test_outputs_exist_with_a_row_per_method(two_runs):
    rows, out = two_runs[0]
    assert [r["name"] for r in rows] == ["vgg", "vit", "optimize"]
    for name in (
        "metrics.csv",
        "metrics.json",
        "metrics.md",
        "pairs.json",
        "grid_vgg.png",
        "grid_vit.png",
        "grid_optimize.png",
    ):
        assert (out / name).is_file(), name
    assert len(read_csv(out / "metrics.csv")) == 3
    assert [r["name"] for r in json.loads((out / "metrics.json").read_text())["rows"]] == [
        "vgg",
        "vit",
        "optimize",
    ]
    for row in rows:
        assert row["pairs"] == 4
        for key in (
            "content_relu4_1",
            "style_gram",
            "style_mean_std",
            "color_distance",
            "ssim",
            "edge_similarity",
            *LEARNED,
        ):
            assert isinstance(row[key], float), (
                row["name"],
                key,
                row[key],
            )  # random feature nets: numbers
    timing = read_csv(out / "timing.csv")
    assert [t["name"] for t in timing] == ["vgg", "vit", "optimize"] and all(
        float(t[TIMING_COLUMN]) > 0 for t in timing
    )


def test_tensorboard_hparams_per_method(two_runs):
    _, out = two_runs[0]
    for name in ("vgg", "vit", "optimize"):
        acc = EventAccumulator(str(out / "tb" / name))
        acc.Reload()
        assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")
        scalars = acc.Tags()["scalars"]
        assert "eval/content_relu4_1" in scalars and "eval/style_gram" in scalars


def test_two_runs_give_identical_tables(two_runs):
    (_, a), (_, b) = two_runs
    for name in ("metrics.csv", "metrics.json", "metrics.md"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "pairs.json").read_text() == (b / "pairs.json").read_text()


def test_offline_learned_metrics_are_unavailable_strings(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = main(
        [
            "--checkpoint",
            str(setup / "vit.safetensors"),
            "--pairs",
            str(setup / "pairs.json"),
            "--weights",
            "random",
            "--size",
            SIZE,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    for key in LEARNED:
        assert rows[0][key].startswith(UNAVAILABLE), (key, rows[0][key])
    csv_row = read_csv(tmp_path / "out" / "metrics.csv")[0]
    assert all(csv_row[k].startswith(UNAVAILABLE) for k in LEARNED)  # in the table, never dropped
    assert "unavailable (see notes)" in (tmp_path / "out" / "metrics.md").read_text()


def test_nothing_to_evaluate_is_an_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:  # one line on stderr, exit 2, no traceback
        main(["--out", str(tmp_path)])
    assert exit_info.value.code == 2
