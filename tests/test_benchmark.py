"""`python -m eval.benchmark --quick`: its output validates against the schema, --compare prints ratios."""

import copy
import json

import pytest

from eval.bench_report import SchemaError, validate
from eval.benchmark import main


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
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
        assert row["peak_memory_mib"] >= 0
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
    other = tmp_path / "faster.json"
    other.write_text(json.dumps(faster))
    text = main(["--compare", str(out), str(other)])
    assert "speedup (B/A)" in text and capsys.readouterr().out.strip()
    lines = [line for line in text.splitlines() if line.startswith("| decoder_vgg")]
    assert lines and all("| 2 | 0.5 |" in line for line in lines), lines


def test_markdown_warns_when_the_reference_conv_drifted(quick):
    from eval.bench_report import markdown

    drifted = copy.deepcopy(quick[0])
    for ref in drifted["reference_conv_end"].values():
        ref["gflops_per_s"] = ref["gflops_per_s"] / 3  # the machine got busy during the run
    validate(drifted)
    assert "WARNING: the reference conv changed" in markdown(drifted)


def test_multiscale_plot_is_written(tmp_path):
    from PIL import Image

    from eval.bench_inference import plot_multiscale

    result = {"single_curve": [(0.0, 1.0), (2.0, 0.1)], "multi_curve": [(0.5, 0.5), (1.0, 0.05)],
              "single_final_total": 0.1}
    plot_multiscale(result, tmp_path / "multiscale.png")
    assert Image.open(tmp_path / "multiscale.png").size == (600, 400)
