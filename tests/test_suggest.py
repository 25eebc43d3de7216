"""One suggestion rule (configs/suggest.py) for flags, subcommands, config keys, registered names
and file names, through the entry points users type: each mistake is one line that names the fix."""

from __future__ import annotations

import importlib

import pytest

import train
from configs.cli import ArgumentParser

SMOKE = "configs/smoke.yaml"


def train_error(capsys, argv: list[str]) -> str:
    try:
        code = train.main(argv)
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["--confg", SMOKE], "did you mean --config (not --confg)?"),
        (["--config", "configs/smoke.yml"], "did you mean configs/smoke.yaml?"),
        (["--config", SMOKE, "train.step=3"], "did you mean train.steps (not train.step)?"),
        (["--config", SMOKE, "loss.style_loss=gramm"], "did you mean gram (not gramm)?"),
        (["--config", SMOKE, "model.decoder.kind=mirror_vg"], "did you mean mirror_vgg"),
        (["--config", SMOKE, "--train.steps", "3"], "write train.steps=3"),
        (["--config", SMOKE, "--train.steps=3"], "write train.steps=3"),
    ],
)
def test_train_suggests_the_fix(capsys, argv, hint):
    assert hint in train_error(capsys, argv)


def test_a_mistyped_subcommand_is_suggested(capsys):
    parser = ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("metrics", help="m")
    sub.add_parser("styleid", help="s")
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["metrcs"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    assert "did you mean metrics (not metrcs)?" in err, err


@pytest.mark.parametrize(
    "module, argv, hint",
    [
        ("export", ["--chekpoint", "x"], "did you mean --checkpoint (not --chekpoint)?"),
        ("eval.styleid.command", ["metrcs"], "did you mean metrics (not metrcs)?"),
        ("bench.__main__", ["figuers"], "did you mean figures (not figuers)?"),
        ("bench.__main__", ["onnx", "--quik"], "did you mean --quick (not --quik)?"),
    ],
)
def test_every_entry_point_suggests_the_fix(capsys, module, argv, hint):
    """The entry points that build their parsers themselves use the same rule."""
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1, err
    assert hint in err[0], err
