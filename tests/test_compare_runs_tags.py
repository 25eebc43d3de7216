"""compare_runs: the best value follows each tag's direction, and a tag no run logged is an \
error."""

import pytest
from test_compare_runs import write_run

from eval.runs.compare import compare_runs, main
from eval.runs.summary import direction


def test_direction_per_tag(tmp_path):
    write_run(
        tmp_path / "A",
        {
            "throughput/data_wait_fraction": [(1, 0.4), (2, 0.1), (3, 0.3)],
            "throughput/images_per_s": [(1, 2.0), (2, 5.0), (3, 3.0)],
            "lr": [(1, 1e-3), (2, 5e-4)],
            "loss/total": [(1, 3.0), (2, 1.0), (3, 2.0)],
        },
    )
    rows = {r.tag: r for r in compare_runs([tmp_path / "A"], tmp_path / "out", combined=False)}
    # waiting less is better
    assert rows["throughput/data_wait_fraction"].best == pytest.approx(0.1)
    assert rows["throughput/images_per_s"].best == pytest.approx(5.0)
    assert rows["loss/total"].best == pytest.approx(1.0)
    assert (
        rows["lr"].best is None
        and "describes the run" in rows["lr"].best_note
        and direction("grad_norm") is None
    )


def test_unknown_tag_is_an_error_listing_the_known_ones(tmp_path, capsys):
    write_run(tmp_path / "A", {"loss/total": [(1, 1.0)]})
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "A"), "--out", str(tmp_path / "out"), "--tags", "loss/totl"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "loss/totl" in err and "known tags: loss/total" in err
    assert not (tmp_path / "out").exists()
