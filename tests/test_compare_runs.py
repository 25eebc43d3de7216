"""Run comparison from TensorBoard event files: exact values back, all points, notes, output \
files."""

import csv
import math

import pytest
from torch.utils.tensorboard import SummaryWriter

from eval.runs.compare import compare_runs, main
from eval.runs.curve_plots import smooth_tensorboard
from eval.runs.tensorboard_io import find_runs, read_scalars


def write_run(folder, curves: dict[str, list[tuple[int, float]]], new_style: bool = False) -> None:
    writer = SummaryWriter(str(folder))
    for tag, points in curves.items():
        for step, value in points:
            writer.add_scalar(tag, value, step, new_style=new_style)
    writer.close()


@pytest.fixture
def two_runs(tmp_path):
    root = tmp_path / "logs"  # runs are named relative to their common folder logs/exp: "A", "B"
    # Run A: 11 points, steps 0..100; loss/total falls to its min 1.0 at step 80 then rises to 1.5.
    total_a = [(s, 10.0 - s / 10) for s in range(0, 80, 10)] + [(80, 1.0), (90, 1.25), (100, 1.5)]
    write_run(
        root / "exp" / "A",
        {
            "loss/total": total_a,
            "loss/tv": [(s, 0.5) for s in range(0, 101, 10)],
            "throughput/img_per_s": [(0, 5.0), (50, 9.0), (100, 7.0)],
        },
    )
    # Run B: written with the tensor (new-style) summaries, ends earlier, has no loss/tv.
    write_run(
        root / "exp" / "B",
        {
            "loss/total": [(s, 8.0 - s / 20) for s in range(0, 81, 10)],
            "throughput/img_per_s": [(0, 4.0), (80, 6.0)],
        },
        new_style=True,
    )
    return root


def by_key(rows):
    return {(r.run, r.tag): r for r in rows}


def test_summary_values_steps_and_notes(two_runs, tmp_path, capsys):
    out = tmp_path / "report"
    rows = by_key(compare_runs([two_runs], out, smoothing=0.6))
    a, b = rows[("A", "loss/total")], rows[("B", "loss/total")]
    assert (a.final, a.best, a.best_step, a.num_points, a.last_step) == (1.5, 1.0, 80, 11, 100)
    assert (b.final, b.best, b.best_step, b.num_points, b.last_step) == (4.0, 4.0, 80, 9, 80)
    # Aligned comparison at the last step both runs reached.
    assert (
        a.common_step == b.common_step == 80 and a.at_common_step == 1.0 and b.at_common_step == 4.0
    )
    # Throughput: best is the maximum.
    t = rows[("A", "throughput/img_per_s")]
    assert (t.best, t.best_step, t.final) == (9.0, 50, 7.0)
    assert a.smoothed_final == pytest.approx(
        smooth_tensorboard([v for _, v in read_scalars(two_runs / "exp/A")["loss/total"]], 0.6)[-1]
    )
    assert ("B", "loss/tv") not in rows and rows[("A", "loss/tv")].final == 0.5

    printed = capsys.readouterr().out
    md = (out / "summary.md").read_text()
    for text in ("run B has no tag loss/tv", "runs end at different steps: A=100, B=80"):
        assert text in printed and text in md
    assert "A" in md and "B" in md
    with open(out / "summary.csv") as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(rows) == 5
    assert {"loss_total.png", "loss_tv.png", "throughput_img_per_s.png", "all_tags.png"} <= {
        p.name for p in out.glob("*.png")
    }
    assert all(p.stat().st_size > 1000 for p in out.glob("*.png"))


def test_cli_tag_selection_comma_separated(two_runs, tmp_path, capsys):
    # a tag no run logged is an error (tests/test_compare_runs_tags.py); one that a run lacks is a
    # note
    out = tmp_path / "cli"
    rows = main(
        [
            str(two_runs / "exp" / "A"),
            str(two_runs / "exp" / "B"),
            "--out",
            str(out),
            "--tags",
            "loss/total,loss/tv",
            "--smoothing",
            "0",
            "--no-combined",
        ]
    )
    assert sorted((r.tag, r.run) for r in rows) == [
        ("loss/total", "A"),
        ("loss/total", "B"),
        ("loss/tv", "A"),
    ]
    assert all(r.smoothed_final == r.final for r in rows)  # smoothing 0 is the raw curve
    assert "run B has no tag loss/tv" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.png")) == ["loss_total.png", "loss_tv.png"]


def test_12000_points_read_in_full(tmp_path):
    # More than EventAccumulator's default reservoir of 10,000 scalars per tag.
    write_run(tmp_path / "long", {"loss/total": [(s, float(s)) for s in range(12_000)]})
    points = read_scalars(tmp_path / "long")["loss/total"]
    assert len(points) == 12_000 and points[0] == (0, 0.0) and points[-1] == (11_999, 11_999.0)


def test_several_event_files_and_resumed_steps(tmp_path):
    run = tmp_path / "run"
    write_run(run, {"loss": [(0, 3.0), (1, 2.0), (2, 1.0)]})
    # resumed from step 2 into a second event file
    write_run(run, {"loss": [(2, 0.875), (3, 0.75)]})
    assert read_scalars(run)["loss"] == [(0, 3.0), (1, 2.0), (2, 0.875), (3, 0.75)]


def test_find_runs_nested_and_errors(two_runs, tmp_path):
    assert [p.relative_to(two_runs).as_posix() for p in find_runs(two_runs)] == ["exp/A", "exp/B"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no TensorBoard event file"):
        read_scalars(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no TensorBoard event file"):
        compare_runs([tmp_path / "empty"], tmp_path / "out")


def test_smoothing_matches_tensorboard_debiased_ema():
    values = [1.0, 2.0, 3.0]
    w = 0.6
    # Debiased EMA: first point unchanged; then weighted averages normalized by (1 - w^n).
    expected = [
        1.0,
        (w * 0.4 * 1 + 0.4 * 2) / (1 - w**2),
        ((w * (w * 0.4 * 1 + 0.4 * 2)) + 0.4 * 3) / (1 - w**3),
    ]
    assert smooth_tensorboard(values, w) == pytest.approx(expected)
    assert smooth_tensorboard([2.0, 2.0], 0.9) == [2.0, 2.0]
    # A NaN point is passed through and not accumulated: the next point is smoothed as if it were
    # absent.
    with_nan = smooth_tensorboard([1.0, float("nan"), 3.0], 0.5)
    assert with_nan[0] == 1.0 and math.isnan(with_nan[1])
    assert with_nan[2] == pytest.approx(smooth_tensorboard([1.0, 3.0], 0.5)[1])
