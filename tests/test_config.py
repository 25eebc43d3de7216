"""The typed config: YAML + overrides with exact field names, strict types, choices and ranges \
checked on read."""

import dataclasses
import typing
from pathlib import Path

import pytest

from configs.read import (
    apply_overrides,
    load_config,
    model_config_from_json,
)
from configs.schema import (
    Config,
    ConfigError,
    ContentTarget,
    DecoderConfig,
    MixedPrecision,
    ModelConfig,
    OptimizerName,
    TrainConfig,
    VGG19Layer,
    flatten,
    to_json,
)
from configs.validate import (
    validate,
)
from models.config import InputNorm, OutputActivation, VGGPadding, VGGWeightsLayout

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def checked(*overrides: str) -> Config:
    """The defaults with CLI overrides, read and validated the way load_config does."""
    return validate(apply_overrides(Config(), list(overrides)))


def test_yaml_and_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  decoder:\n    kind: transposed_conv\nloss:\n  style_weight: 3\n")
    cfg = load_config(
        path,
        ["train.steps=12", "loss.style_layers=relu1_1,relu2_1", "model.encoder.pretrained=false"],
    )
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


# ---- the schema's fixed Literal choices are the tables of the code that implements them
def test_literal_names_match_the_code():
    from accelerate.utils import PrecisionType

    from models.layers import INPUT_NORMS, OUTPUT_ACTIVATIONS
    from models.vgg import VGG19_LAYERS, VGG_LAYOUTS, VGG_PADDINGS
    from training.optimizer import OPTIMIZERS

    names = typing.get_args
    assert set(names(OptimizerName)) == set(OPTIMIZERS)
    assert list(names(VGG19Layer)) == list(VGG19_LAYERS)  # same names, same depth order
    assert set(names(MixedPrecision)) <= {p.value for p in PrecisionType}
    assert set(names(ContentTarget)) == {
        "adain",
        "content",
    }  # the two branches of training/objective.py
    assert set(names(InputNorm)) == set(INPUT_NORMS)
    assert set(names(OutputActivation)) == set(OUTPUT_ACTIVATIONS)
    assert set(names(VGGPadding)) == set(VGG_PADDINGS)
    assert set(names(VGGWeightsLayout)) == set(VGG_LAYOUTS)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_yaml_config_loads_and_validates(path):
    # the recipes (fp16 for T4s) stay loadable on a CPU machine for inspection
    cfg = load_config(path)
    assert validate(cfg, cuda=True) == cfg
    if cfg.train.mixed_precision == "fp16":  # ... but a run with them needs CUDA
        with pytest.raises(ConfigError, match=r"^train\.mixed_precision: 'fp16'.*CUDA"):
            validate(cfg, cuda=False)
    else:
        validate(cfg, cuda=False)


# ---- strict coercion: a value never silently changes type
def test_cli_strings_stay_strings():
    cfg = checked(
        "train.mixed_precision=no", "name=2024", "model.encoder.weights_file=123", "data.root=yes"
    )
    assert cfg.train.mixed_precision == "no" and cfg.name == "2024"
    assert cfg.model.encoder.weights_file == "123" and cfg.data.root == "yes"


@pytest.mark.parametrize(
    "yaml_text, key",
    [
        ("train: {mixed_precision: no}", "train.mixed_precision"),  # YAML's False, not "no"
        ("name: 2024", "name"),
        ("model: {encoder: {layer: }}", "model.encoder.layer"),  # null, not ""
        ("model: {encoder: {pretrained: 2}}", "model.encoder.pretrained"),
        ("train: {steps: true}", "train.steps"),
        ("train: {steps: 2.5}", "train.steps"),
        ("optim: {lr: false}", "optim.lr"),
        ("loss: {style_layers: [relu1_1, 3]}", "loss.style_layers"),
    ],
)
def test_yaml_values_of_the_wrong_type_are_errors(tmp_path, yaml_text, key):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml_text + "\n")
    with pytest.raises(ConfigError, match=rf"exp.yaml: {key}: "):
        load_config(path)


def test_yaml_boolean_in_a_choice_field_says_to_quote_it(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("train: {mixed_precision: no}\n")
    with pytest.raises(
        ConfigError,
        match=r"False is not allowed \(YAML reads unquoted.*quote it\); choose one "
        r"of no, fp16, bf16",
    ):
        load_config(path)


def test_yaml_numbers_that_fit_are_converted(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("optim: {lr: 1e-4, momentum: 0}\ntrain: {steps: 1.0e3}\ndata: {flip: 'yes'}\n")
    cfg = load_config(path)  # YAML reads 1e-4 (no dot) as a string; a float field parses it
    assert (
        cfg.optim.lr == 1e-4 and cfg.optim.momentum == 0.0 and isinstance(cfg.optim.momentum, float)
    )
    assert cfg.train.steps == 1000 and type(cfg.train.steps) is int and cfg.data.flip is True


@pytest.mark.parametrize(
    "raw, expected",
    [("true", True), ("False", False), ("yes", True), ("no", False), ("1", True), ("0", False)],
)
def test_cli_booleans(raw, expected):
    assert checked(f"data.flip={raw}").data.flip is expected


@pytest.mark.parametrize(
    "override",
    [
        "data.flip=2",
        "data.flip=maybe",
        "data.flip=",
        "train.steps=2.5",
        "train.steps=true",
        "optim.lr=true",
        "optim.lr=nan",
        "optim.lr=inf",
        "optim.betas=0.9,x",
    ],
)
def test_cli_values_of_the_wrong_type_are_errors(override):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        checked(override)


def test_cli_numbers_and_lists():
    cfg = checked(
        "train.steps=1e3", "optim.lr=1", "optim.betas=[0.5, 0.6]", "loss.style_layer_weights="
    )
    assert cfg.train.steps == 1000 and type(cfg.train.steps) is int
    assert cfg.optim.lr == 1.0 and type(cfg.optim.lr) is float
    assert cfg.optim.betas == [0.5, 0.6] and cfg.loss.style_layer_weights == []


# ---- choices, ranges and cross-field rules: one line naming the dotted key
BAD = [
    "model.encoder.kind=resnet",
    "model.decoder.kind=foo",
    "loss.style_loss=foo",
    "loss.content_target=pixels",
    "optim.name=rmsprop",
    "train.mixed_precision=fp8",
    "loss.style_layers=relu9_9",
    "loss.content_layers=relu9_9",
    "train.batch_size=0",
    "optim.lr=0",
    "optim.lr=-1",
    "train.steps=0",
    "train.save_every=0",
    "train.log_every=0",
    "train.eval_every=0",
    "train.keep_last=-1",
    "train.val_pairs=-1",
    "data.crop=0",
    "data.resize=255",
    "data.num_workers=-2",
    "train.epochs=-1",
    "optim.weight_decay=-0.1",
    "optim.grad_clip=-1",
    "optim.lr_decay=-1",
    "optim.betas=0.9",
    "optim.betas=0.9,1.0",
    "optim.betas=-0.1,0.9",
    "optim.momentum=1",
    "optim.momentum=-0.1",
    "train.max_nonfinite=0",
    "train.alpha=1.5",
    "train.alpha=-0.1",
    "model.decoder.width=0",
    "train.seed=-1",
    "loss.content_weight=-1",
    "loss.style_weight=-1",
    "loss.tv_weight=-1",
    "train.debug_nan_at_step=-2",
    "loss.style_layer_weights=1,2",
    "loss.style_layer_weights=1,1,1,-1",
    "loss.style_layers=",
    "loss.style_layers=relu1_1,relu1_1",
    "loss.content_layers=relu3_1",
    "model.encoder.layer=relu9_9",
    "train.memory_format=nhwc",
]


@pytest.mark.parametrize("override", BAD)
def test_bad_values_name_their_key_in_one_line(override):
    key = override.split("=")[0]
    with pytest.raises(ConfigError) as err:
        checked(override)
    message = str(err.value)
    assert message.startswith(f"{key}: ") and "\n" not in message and "; " in message


def test_load_config_validates_the_file_and_the_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("train: {batch_size: 0}\n")
    with pytest.raises(ConfigError, match=r"^train\.batch_size: 0;"):
        load_config(path)
    path.write_text("train: {batch_size: 2}\n")
    with pytest.raises(ConfigError, match=r"^optim\.lr: -1\.0;"):
        load_config(path, ["optim.lr=-1"])


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["model.encoder.kind=vit"], "loss.content_target"),  # adain needs a VGG target
        (
            ["model.encoder.layer=relu3_1"],
            "loss.content_layers",
        ),  # the adain target moved with the encoder layer
        (
            [
                "model.encoder.kind=vit",
                "loss.content_target=content",
                "model.encoder.layer=relu4_1",
            ],
            "model.encoder.layer",
        ),
        (
            ["model.encoder.kind=vit", "loss.content_target=content", "loss.content_layers="],
            "loss.content_layers",
        ),
    ],
)
def test_cross_field_rules(overrides, key):
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        checked(*overrides)


def test_cross_field_rules_accept_the_consistent_variants():
    assert checked(
        "model.encoder.layer=relu3_1", "loss.content_layers=relu3_1"
    ).loss.content_layers == ["relu3_1"]
    vit = checked(
        "model.encoder.kind=vit", "loss.content_target=content", "model.encoder.layer=block3"
    )
    assert vit.model.encoder.layer == "block3"
    # the boundaries
    assert checked("data.resize=256", "train.keep_last=0", "train.alpha=0").data.resize == 256


def test_validate_checks_a_config_built_in_python():
    with pytest.raises(ConfigError, match=r"^model\.decoder\.kind: 'foo'"):
        validate(Config(model=ModelConfig(decoder=DecoderConfig(kind="foo"))))
    with pytest.raises(ConfigError, match=r"^train\.batch_size: 0;"):
        validate(Config(train=TrainConfig(batch_size=0)))
    typed = validate(dataclasses.replace(Config(), train=TrainConfig(alpha=1)))
    assert type(typed.train.alpha) is float


def test_checkpoint_model_config_is_checked():
    vit = ModelConfig()
    vit.encoder.kind, vit.encoder.layer = "vit", "final"
    # a ViT model alone is fine (no loss rules apply)
    assert model_config_from_json(to_json(vit)) == vit
    vit.decoder.width = 0
    with pytest.raises(ConfigError, match=r"^model\.decoder\.width: 0;"):
        model_config_from_json(to_json(vit))
    with pytest.raises(ConfigError, match=r"^model\.decoder\.kind: 'foo'"):
        model_config_from_json('{"decoder": {"kind": "foo"}}')


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["loss.teacher=hed-adain", "loss.teacher_weight=-1"], "loss.teacher_weight"),
        (
            ["loss.teacher=hed-adain", "loss.teacher_feature_weight=-0.5"],
            "loss.teacher_feature_weight",
        ),
        (["loss.teacher_layers=relu2_1"], "loss.teacher_layers"),  # no teacher
        (["loss.teacher=hed-adain", "loss.teacher_layers=relu9_9"], "loss.teacher_layers"),
    ],
)
def test_distillation_keys_are_checked_with_the_others(overrides, key):
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        validate(apply_overrides(Config(), overrides))
