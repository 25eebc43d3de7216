"""`python -m data_prep.prepare` on a missing input folder: one line naming it and what to give,
exit 2.
"""

from __future__ import annotations

import pytest

from data_prep.prepare import main


@pytest.mark.parametrize(
    "flags, named",
    [
        (
            ["--content", "{tmp}/MISSING", "--style", "{tmp}"],
            "--content {tmp}/MISSING: no such folder",
        ),
        (
            ["--content", "{tmp}", "--style", "{tmp}/MISSING"],
            "--style {tmp}/MISSING: no such folder",
        ),
        (
            ["--avatar-anime", "{tmp}/MISSING"],
            "--avatar-anime {tmp}/MISSING: no folder {tmp}/MISSING/CelebA/train",
        ),
    ],
)
def test_a_missing_input_folder_is_one_line(tmp_path, capsys, flags, named):
    (tmp_path / "in").mkdir()
    tmp = tmp_path / "in"
    with pytest.raises(SystemExit) as stop:
        main([f.format(tmp=tmp) for f in flags] + ["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {named.format(tmp=tmp)}; give the folder"), err
    assert not (tmp_path / "out").exists()  # nothing prepared from a missing input
