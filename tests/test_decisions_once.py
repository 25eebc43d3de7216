"""Each decision of a run is made once and passed down: the plugins loaded, the weights spec parsed,
a training config validated, the memory format chosen; and a clip asks only a narrow interface of
the run (inference/video.py's `Stylizer`), not its internals."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from train_helpers import tiny_overrides

import configs.plugins
import configs.validate
import infer
import models.config
import train as train_script
from configs.read import load_config
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from data_prep.sample_clip import write_clip
from inference.jobs import Entry
from inference.options import InferError, InferOptions
from inference.video import Target, stylize_clip
from media.video import VideoReader
from models.net import StyleTransferNet
from training.launch import LaunchError
from training.objective import StyleTransferObjective
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")

PLUGIN = Path(__file__).parent / "plugins" / "dummy_plugin.py"
SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"
# a mask with a style mix: the options' own check refuses the run, after the plugins were loaded
REFUSED = ["--checkpoint", "x.safetensors", "--content", "c.png", "--style", "s.png"]
REFUSED += ["--mask", "m.png", "--style-weights", "1", "--plugins", str(PLUGIN)]
GIVEN = {
    "checkpoint": "x.safetensors",
    "content": ("c.png",),
    "style": ("s.png",),
    "mask": "m.png",
    "style_weights": (1.0,),
    "plugins": (str(PLUGIN),),
}


@pytest.mark.parametrize(
    "value",
    [REFUSED, GIVEN, InferOptions(**GIVEN)],
    ids=["argv", "mapping", "options"],
)
def test_a_run_loads_its_plugins_once(monkeypatch, value):
    calls = []
    key = configs.plugins.plugin_key  # load_plugins asks it for each plugin, loaded or not
    monkeypatch.setattr(configs.plugins, "plugin_key", lambda spec: calls.append(spec) or key(spec))
    with pytest.raises(InferError, match="--mask assigns one style per region"):
        infer.stylize(value)
    assert calls == [str(PLUGIN)]


def test_a_run_parses_its_weights_spec_once(tmp_path, monkeypatch, capsys):
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    checkpoint = save_release(tmp_path / "release.safetensors", net)
    image = tmp_path / "a.png"
    Image.new("RGB", (32, 32), (120, 30, 200)).save(image)
    parsed = []
    spec = models.config.WeightsSpec  # what models.config.parse_weights returns
    monkeypatch.setattr(models.config, "WeightsSpec", lambda **kw: parsed.append(kw) or spec(**kw))
    argv = ["--checkpoint", str(checkpoint), "--content", str(image), "--style", str(image)]
    summary = infer.stylize([*argv, "--out", str(tmp_path / "out"), "--weights", "random"])
    assert len(summary["written"]) == 1
    # the engine loaded the encoder with it, and the run's warning read the same parse
    assert parsed == [{"pretrained": False}]
    assert "WARNING: --weights random" in capsys.readouterr().err


def test_a_clip_asks_the_run_only_for_stylized_frames(tmp_path):
    """stylize_clip works with any object that has `optimizes` and `outputs` (no Runner)."""
    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames=3, size=(32, 24), audio=False)

    class Inverse:
        optimizes = False
        batches: list[int] = []

        def outputs(self, contents, entry, prior=None):
            self.batches.append(len(contents))
            return [1 - contents]  # one alpha

    run = Inverse()
    target = Target(Entry("inverse", [0]), 0, tmp_path / "out.mp4", None)
    stylize_clip(clip, [target], run, InferOptions(temporal="off", batch_size=2))
    assert run.batches == [2, 1]
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert len(list(reader.frames())) == 3


def test_the_loop_takes_the_memory_format_train_chose(sample_root, tmp_path, monkeypatch):
    seen = []
    forward = StyleTransferObjective.forward

    def recording(self, content, style, alpha=1.0):
        seen.append(content.is_contiguous(memory_format=torch.channels_last))
        return forward(self, content, style, alpha)

    monkeypatch.setattr(StyleTransferObjective, "forward", recording)
    # the one choice says NHWC although the config says contiguous: the batches follow it
    monkeypatch.setattr(train_script, "memory_format", lambda name, device: torch.channels_last)
    overrides = tiny_overrides(sample_root, **{"train.steps": 1, "train.val_pairs": 0})
    cfg = load_config(SMOKE, [*overrides, "train.memory_format=contiguous"])
    train_script.train(cfg, tmp_path / "run")
    assert seen == [True]


def test_train_validates_its_config_once(sample_root, monkeypatch, capsys):
    rules, typing = [], []
    check_loss, from_dict = configs.validate._check_loss, configs.validate.from_dict
    monkeypatch.setattr(
        configs.validate, "_check_loss", lambda *a: rules.append(1) or check_loss(*a)
    )
    monkeypatch.setattr(configs.validate, "from_dict", lambda *a: typing.append(1) or from_dict(*a))

    def stop(cfg):
        raise LaunchError("stopped after the checks")

    monkeypatch.setattr(train_script, "make_accelerator", stop)
    assert train_script.main(["--config", str(SMOKE), *tiny_overrides(sample_root)]) == 2
    assert "stopped after the checks" in capsys.readouterr().err
    # the rules once (configs.read.load_config); the types only by the reader, not again
    assert len(rules) == 1 and typing == []
