"""`python -m bench gpu --quick --device cpu`: the GPU check's code runs on tiny sizes, so it cannot
rot; and `python -m bench train-step` takes a device and refuses fp16 on a CPU in one line.
"""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main


def test_gpu_check_quick_on_cpu(tmp_path, one_thread):
    main(["gpu", "--quick", "--device", "cpu", "--out", str(tmp_path)])
    result = json.loads((tmp_path / "gpu.json").read_text())
    rows = {(r["row"], r.get("precision"), r.get("compile")): r for r in result["rows"]}
    assert {"train/smoke", "train/smoke_vit"} <= {r for r, _, _ in rows}
    assert rows[
        (
            "infer/decoder_vgg",
            "bf16" if ("infer/decoder_vgg", "bf16", True) in rows else "fp32",
            True,
        )
    ]
    assert all(r["seconds"] > 0 for r in result["rows"] if "seconds" in r)
    assert next(r for r in result["rows"] if r["row"] == "tiled")["peak_mib"] > 0
    assert "skipped" in next(r for r in result["rows"] if r["row"] == "ddp")  # no 2 GPUs here
    assert "| ddp |" in (tmp_path / "gpu.md").read_text()


def test_train_step_refuses_fp16_on_cpu(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train-step", "--device", "cpu", "--precisions", "fp16", "--configs", "smoke"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "fp16" in err and "bf16" in err, err
