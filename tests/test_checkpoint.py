"""Release checkpoints round-trip; foreign state dicts load; wrong files fail clearly."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import vgg_config, vit_config

from models.net import StyleTransferNet
from weights.checkpoint import RELEASE_FILE, STEP_WEIGHTS, CheckpointError, read_metadata
from weights.load import load_model
from weights.release import save_release

ROOT = Path(__file__).resolve().parents[1]


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.rand(1, 3, 40, 56, generator=g), torch.rand(1, 3, 32, 32, generator=g)


@pytest.fixture(scope="module")
def vgg_net():
    torch.manual_seed(0)
    return StyleTransferNet(vgg_config()).eval()


def test_release_round_trip_in_a_fresh_process(tmp_path, vgg_net):
    file = save_release(tmp_path / "model.safetensors", vgg_net, {"step": 7})
    assert not list(tmp_path.glob(".*tmp"))  # the temp file was renamed away
    meta = read_metadata(file)
    assert meta["step"] == "7" and '"kind": "vgg19"' in meta["model_config"]
    content, style = _inputs()
    torch.save({"content": content, "style": style}, tmp_path / "inputs.pt")
    with torch.no_grad():
        expected = vgg_net(content, style)
    script = (
        "import sys, torch; sys.path.insert(0, sys.argv[1]);"
        "from weights.load import load_model;"
        "net = load_model(sys.argv[2]); x = torch.load(sys.argv[3]);"
        "torch.save(net(x['content'], x['style']).detach(), sys.argv[4])"
    )
    args = [str(ROOT), str(file), str(tmp_path / "inputs.pt"), str(tmp_path / "out.pt")]
    subprocess.run([sys.executable, "-c", script, *args], check=True)
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)


def test_release_holds_random_encoder_but_not_pretrained_one(vgg_net, tmp_path):
    from safetensors.torch import load_file

    keys = load_file(str(save_release(tmp_path / "a.safetensors", vgg_net)))
    assert any(k.startswith("encoder.") for k in keys) and any(
        k.startswith("decoder.") for k in keys
    )
    vgg_net.cfg.encoder.pretrained = True  # a downloadable encoder is not copied in
    try:
        keys = load_file(str(save_release(tmp_path / "b.safetensors", vgg_net)))
    finally:
        vgg_net.cfg.encoder.pretrained = False
    assert keys and all(k.startswith("decoder.") for k in keys)


@pytest.mark.parametrize(
    "wrap", ["dataparallel", "compiled", "dataparallel(compiled)", "compiled(dataparallel)"]
)
def test_wrapped_state_dicts_load(tmp_path, vgg_net, wrap):
    module = vgg_net
    for layer in reversed(wrap.replace(")", "").split("(")):
        module = torch.nn.DataParallel(module) if layer == "dataparallel" else torch.compile(module)
    state = module.state_dict()
    assert any(k.startswith(("module.", "_orig_mod.")) for k in state)
    torch.save(state, tmp_path / "wrapped.pth")
    net = load_model(tmp_path / "wrapped.pth", vgg_net.cfg)
    content, style = _inputs()
    with torch.no_grad():
        assert torch.equal(net(content, style), vgg_net(content, style))


def test_vit_notebook_full_model_state_dict(tmp_path):
    torch.manual_seed(0)
    net = StyleTransferNet(vit_config()).eval()
    state = {f"module.vit_encoder.{k}": v for k, v in net.encoder.model.state_dict().items()}
    state.update({f"module.decoder.{k}": v for k, v in net.decoder.state_dict().items()})
    state["module.vgg_loss_net.0.weight"] = torch.zeros(64, 3, 3, 3)
    torch.save(state, tmp_path / "notebook.pth")
    loaded = load_model(tmp_path / "notebook.pth", net.cfg)
    content, style = _inputs()
    with torch.no_grad():
        assert torch.equal(loaded(content, style), net(content, style))


def test_wrong_architecture_names_missing_and_unexpected_keys(tmp_path, vgg_net):
    file = save_release(tmp_path / "vgg.safetensors", vgg_net)
    with pytest.raises(
        CheckpointError, match=r"missing keys: .*unexpected keys: decoder\.layers\.0\.1"
    ):
        load_model(file, vit_config())


def test_pickle_that_is_not_a_state_dict_is_refused(tmp_path, vgg_net):
    torch.save(vgg_net, tmp_path / "full_module.pth")  # a pickled nn.Module: code, not tensors
    with pytest.raises(CheckpointError, match="weights_only"):
        load_model(tmp_path / "full_module.pth", vgg_net.cfg)


def test_plain_state_dict_without_config_asks_for_one(tmp_path, vgg_net):
    torch.save(vgg_net.state_dict(), tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="model config"):
        load_model(tmp_path / "plain.pt")


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")


def test_folders_resolve_to_step_weights_then_release_file(tmp_path, vgg_net):
    run, folder = tmp_path / "run", tmp_path / "run" / "checkpoints" / "step_000002"
    folder.mkdir(parents=True)
    save_release(run / RELEASE_FILE, vgg_net, {"step": 4})
    # a step file may carry a random loss network for resuming: loaders skip it
    save_release(
        folder / STEP_WEIGHTS, vgg_net, {"step": 2}, extra={"loss_net.body.0.weight": torch.ones(2)}
    )
    assert read_metadata(folder)["step"] == "2" and read_metadata(run)["step"] == "4"
    content, style = _inputs()
    with torch.no_grad():
        assert torch.equal(load_model(folder)(content, style), vgg_net(content, style))
    with pytest.raises(ValueError, match="loss_net"):  # other names would break every loader
        save_release(folder / STEP_WEIGHTS, vgg_net, extra={"decoder.extra": torch.ones(2)})
    with pytest.raises(CheckpointError, match=f"folder without {STEP_WEIGHTS}.*or {RELEASE_FILE}"):
        load_model(tmp_path)
