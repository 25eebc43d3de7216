"""`python -m bench`: the quick table validates against the schema, --compare prints ratios, and \
the table
and the figures count the same FLOPs for the same pass (CPU attention included)."""

import copy
import json

import pytest
import torch
from conftest import TINY_VIT

from bench.__main__ import main
from bench.report import SchemaError, markdown, validate

# One thread: the passes are tiny, and on a shared CPU two threads stall in OpenMP's barriers
# (conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def quick(tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    return main(["--quick", "--out", str(out)]), out


def test_quick_result_validates_and_has_every_method(quick):
    result, out = quick
    assert json.loads(out.read_text()) == result
    validate(result)
    assert out.with_suffix(".md").read_text().startswith("# Benchmark (quick set)")
    methods = {row["method"] for row in result["rows"]}
    assert {"decoder_vgg", "decoder_vit", "optimize_step", "train/smoke"} <= methods
    for row in result["rows"]:
        assert row["status"] == "ok", row
        assert row["images_per_s"] > 0 and row["gflop"] > 0 and row["ratio_to_ref_conv"] > 0
        assert row["peak_memory_mib"] >= 0 and row["spread"] >= 0
    assert {row["precision"] for row in result["rows"]} == {"fp32", "bf16"}


def test_schema_violations_are_named(quick):
    bad = copy.deepcopy(quick[0])
    bad["rows"][0]["images_per_s"] = "fast"
    del bad["rows"][1]["status"]
    with pytest.raises(SchemaError) as info:
        validate(bad)
    assert "rows[0].images_per_s" in str(info.value) or "rows.0.images_per_s" in str(info.value)
    assert "status" in str(info.value)


def test_compare_prints_ratios(quick, tmp_path, capsys):
    result, out = quick
    faster = copy.deepcopy(result)
    for row in faster["rows"]:
        row["images_per_s"] *= 2
        row["latency_ms"] /= 2
        del row["spread"]  # results written before bench/ have no spread: still comparable
    faster["rows"][2]["gflop"] *= 1.5  # another FLOP counter: flagged, GFLOP/s not comparable
    other = tmp_path / "faster.json"
    other.write_text(json.dumps(faster))
    text = main(["--compare", str(out), str(other)])
    assert "speedup (B/A)" in text and capsys.readouterr().out.strip()
    lines = [line for line in text.splitlines() if line.startswith("| decoder_vgg")]
    assert lines and all("| 2 | 0.5 |" in line and line.endswith("| 1 |") for line in lines), lines
    assert f"The FLOP count differs for {faster['rows'][2]['method']}:" in text


def test_markdown_warns_when_the_reference_conv_drifted(quick):
    drifted = copy.deepcopy(quick[0])
    for ref in drifted["reference_conv_end"].values():
        ref["gflops_per_s"] = ref["gflops_per_s"] / 3  # the machine got busy during the run
    validate(drifted)
    assert "WARNING: the reference conv changed" in markdown(drifted)


def test_table_and_figure_count_the_same_vit_flops(quick, monkeypatch):
    """The 0.64 vs 0.79 bug: the table's ViT row lost CPU attention that the figure counted."""
    from bench import figures

    # The reference conv is timed by the table already (seconds per call on this CPU); only the pass
    # matters.
    monkeypatch.setattr(figures, "reference_conv", lambda *a, **k: {"gflops_per_s": 100.0})
    row = next(r for r in quick[0]["rows"] if r["method"] == "decoder_vit")
    assert (row["size"], row["precision"]) == (64, "fp32")
    figure = figures.stylization_throughput("decoder_vit", size=64, model_name=TINY_VIT, quick=True)
    assert figure["gflop"] == row["gflop"]
    assert figure["bf16_psnr_db"] > 20 and figure["fp32_seconds"] > 0


def test_counter_counts_cpu_attention_forward_and_backward():
    import timm
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    from bench.harness import count_flops

    vit = timm.create_model(TINY_VIT, pretrained=False, dynamic_img_size=True)
    x = torch.rand(1, 3, 64, 64)
    tokens, dim, depth = (64 // 16) ** 2 + vit.num_prefix_tokens, vit.embed_dim, len(vit.blocks)
    # sdpa per block: q @ k^T and attn @ v, 2 * tokens^2 * dim each; the backward recomputes the
    # scores and takes 4 more products of that size (torch's sdpa_backward_flop_count): 10 *
    # tokens^2 * dim.
    forward, backward = 4 * tokens**2 * dim * depth, 10 * tokens**2 * dim * depth
    cpu_op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    # a later torch
    expected_extra = (0, 0) if cpu_op in flop_registry else (forward, forward + backward)

    def plain(fn):
        with FlopCounterMode(display=False) as counter:
            fn()
        return counter.get_total_flops()

    def infer():
        with torch.inference_mode():
            vit(x)

    def train():
        vit(x).sum().backward()

    assert count_flops(infer) - plain(infer) == expected_extra[0]
    assert count_flops(train) - plain(train) == expected_extra[1]
    assert count_flops(infer) > 0


def test_figures_cli_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        main(["figures", "no_such_figure"])
    assert "vgg" in capsys.readouterr().err


def test_multiscale_plot_is_written(tmp_path):
    from PIL import Image

    from bench.figures import plot_multiscale

    result = {
        "single_curve": [(0.0, 1.0), (2.0, 0.1)],
        "multi_curve": [(0.5, 0.5), (1.0, 0.05)],
        "single_final_total": 0.1,
    }
    plot_multiscale(result, tmp_path / "multiscale.png")
    assert Image.open(tmp_path / "multiscale.png").size == (600, 400)


def test_train_step_benchmark_rows(monkeypatch):
    """One tiny run of `python -m bench train-step`: a plain row and a recipe row with consistent
    figures."""
    from bench import train_step

    result = train_step.run_train_steps(
        ["smoke"], batch=1, precisions=["fp32"], size=32, quick=True
    )
    plain, smoke = result["rows"]
    assert plain["step"] == "plain_adain" and smoke["step"] == "smoke"
    assert (
        smoke["gflop"] > 0
        and abs(smoke["speedup_vs_plain_fp32"] - plain["seconds"] / smoke["seconds"]) < 1e-9
    )
    assert "| smoke | fp32 |" in train_step.markdown(result)


def test_bf16_warning_where_the_cpu_emulates_it(monkeypatch):
    import torch

    from runtime.device import precision_warning

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert "emulated" in precision_warning(torch.device("cpu"), "bf16")
    assert precision_warning(torch.device("cpu"), "fp32") is None
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert precision_warning(torch.device("cpu"), "bf16") is None


def test_train_step_profile_charges_every_part_and_kind():
    """`python -m bench train-step --profile`: backward ops go to the network whose forward made
    them."""
    import torch

    from bench.cases import train_step_pass
    from bench.profile_step import kind_of, profile_step

    step = train_step_pass("smoke", 1, 32, "fp32", torch.device("cpu"))
    result = profile_step(step, step.objective)
    for part in (
        "encoder forward (frozen features)",
        "decoder forward",
        "decoder backward",
        "loss network forward",
        "loss network backward",
        "optimizer",
    ):
        assert result["parts"].get(part, 0) > 0, (part, result["parts"])
    assert abs(sum(result["parts"].values()) - result["total_s"]) < 1e-9
    assert result["kinds"]["convolution"] == max(result["kinds"].values())
    assert [
        kind_of(op)
        for op in (
            "aten::mkldnn_convolution",
            "aten::clamp_min",
            "aten::reflection_pad2d",
            "aten::copy_",
            "aten::empty_strided",
            "aten::var_mean",
        )
    ] == [
        "convolution",
        "activation",
        "padding",
        "layout conversion",
        "allocation",
        "normalization/statistics",
    ]
