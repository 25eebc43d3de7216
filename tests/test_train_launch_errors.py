"""Under `accelerate launch` with 2 processes a user error is read once, at the end of the \
launcher's report."""

from __future__ import annotations

import json

from train_helpers import SMOKE, run_cli, tiny_overrides

from training import launch_errors

MESSAGE = "error: --resume /nonexistent/step_000002: not a complete checkpoint folder"


def test_two_process_error_is_the_launchers_root_cause_and_its_last_line(sample_root, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(run_dir),
            "--resume",
            "/nonexistent/step_000002",
            *tiny_overrides(sample_root),
        ],
        processes=2,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert output.count(MESSAGE) == 1, output[
        -3000:
    ]  # not once per rank, not printed and then summarized
    text_lines = [line for line in proc.stderr.splitlines() if line.strip("=- ")]
    assert MESSAGE in text_lines[-1], output[
        -3000:
    ]  # the last thing on screen, not buried above the report
    # one failure: the real one
    assert "<NO_OTHER_FAILURES>" in proc.stderr and "SIGTERM)" not in proc.stderr
    assert "To enable traceback" not in proc.stderr
    assert not run_dir.exists()  # a rejected start writes nothing


def test_other_ranks_report_their_own_error_after_the_wait(tmp_path, monkeypatch, capsys):
    """An error only local rank 1 meets (the launcher does not stop it): its own line reaches the
    summary."""
    error_file = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setattr(launch_errors, "OTHER_RANKS_WAIT_S", 0.01)
    launch_errors.report_error("error: data.root=/x: not found on this machine")
    assert (
        json.loads(error_file.read_text())["message"]
        == "error: data.root=/x: not found on this machine"
    )
    assert capsys.readouterr().err == ""


def test_without_a_launcher_rank_zero_prints_and_other_ranks_stay_quiet(monkeypatch, capsys):
    monkeypatch.delenv("TORCHELASTIC_ERROR_FILE", raising=False)
    for rank, expected in (("0", "error: x\n"), ("1", "")):
        monkeypatch.setenv("RANK", rank)
        launch_errors.report_error("error: x")
        assert capsys.readouterr().err == expected
