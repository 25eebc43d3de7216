"""The typed config: YAML + overrides with exact field names; unknown keys are errors."""

import pytest

from configs.schema import Config, ConfigError, apply_overrides, flatten, load_config


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  decoder:\n    kind: transposed_conv\nloss:\n  style_weight: 3\n")
    cfg = load_config(path, ["train.steps=12", "loss.style_layers=relu1_1,relu2_1", "model.encoder.pretrained=false"])
    assert cfg.name == "exp" and cfg.model.decoder.kind == "transposed_conv"
    assert cfg.loss.style_weight == 3.0 and isinstance(cfg.loss.style_weight, float)
    assert cfg.train.steps == 12 and cfg.loss.style_layers == ["relu1_1", "relu2_1"]
    assert cfg.model.encoder.pretrained is False


@pytest.mark.parametrize("override", ["train.stepz=3", "nope=1", "train=3x", "train.steps=abc"])
def test_bad_overrides_are_errors(override):
    with pytest.raises(ConfigError):
        apply_overrides(Config(), [override])


def test_unknown_yaml_key_names_the_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("loss:\n  style_wieght: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*loss.style_wieght"):
        load_config(path)


def test_flatten_is_scalar_only():
    flat = flatten(Config())
    assert flat["loss/style_layers"] == "relu1_1,relu2_1,relu3_1,relu4_1"
    assert all(isinstance(v, (int, float, str, bool)) for v in flat.values())
