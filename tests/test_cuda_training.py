"""Training and evaluation paths that only a GPU run would show, checked on the CPU: fp16 GradScaler
skips, cudnn.benchmark, a partly used trainable ViT under DDP, evaluation without autograd graphs
and its device."""

import pytest
import torch
from accelerate import Accelerator
from accelerate.optimizer import AcceleratedOptimizer
from conftest import TINY_VIT, vgg_config
from train_helpers import tiny_config

import eval.variants
import train
from eval.methods import CheckpointMethod
from models.net import StyleTransferNet
from models.vit import ViTFeatures
from training import launch
from training.run_log import RunLogger
from weights.load import load_model
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gradscaler_skipped_steps_are_counted_and_keep_the_grad_norm_finite(
    sample_root, tmp_path, monkeypatch
):
    """As fp16 on a GPU in its first steps: the scaler finds inf gradients and skips the update."""
    clip, step, calls, logged = Accelerator.clip_grad_norm_, AcceleratedOptimizer.step, [], []

    def overflowing_clip(self, parameters, max_norm, *args, **kwargs):
        calls.append(1)
        norm = clip(self, parameters, max_norm, *args, **kwargs)
        return torch.full_like(norm, torch.inf) if len(calls) == 1 else norm  # step 0 overflows

    def scaler_step(self, closure=None):
        self._is_overflow = len(calls) == 1  # GradScaler: no update after an inf gradient
        if not self._is_overflow:
            step(self, closure)

    monkeypatch.setattr(Accelerator, "clip_grad_norm_", overflowing_clip)
    monkeypatch.setattr(AcceleratedOptimizer, "step", scaler_step)
    monkeypatch.setattr(RunLogger, "scalars", lambda self, values, at: logged.append(values))
    result = train.train(tiny_config(sample_root, **{"train.val_pairs": 0}), tmp_path / "run")
    assert result.step == 4 and result.skipped_steps == 1
    windows = [v for v in logged if "grad_norm" in v]
    assert len(windows) == 2 and all(torch.isfinite(torch.tensor(v["grad_norm"])) for v in windows)
    assert windows[0]["train/skipped_steps"] == 1


def test_cudnn_benchmark_is_on_for_cuda_training(sample_root, monkeypatch):
    class OnCuda(Accelerator):
        device = property(lambda self: torch.device("cuda"))

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)  # restored after the test
    monkeypatch.setattr(launch, "Accelerator", OnCuda)
    launch.make_accelerator(tiny_config(sample_root))
    assert torch.backends.cudnn.benchmark is True
    monkeypatch.setattr(launch, "Accelerator", Accelerator)
    launch.make_accelerator(tiny_config(sample_root))
    assert torch.backends.cudnn.benchmark is False


def test_trainable_vit_read_at_an_early_block_has_no_parameter_without_gradient():
    """DDP fails at step 2 on a trainable parameter that got no gradient ("Expected to have finished
    reduction"): the blocks after the layer read, and the final norm, must be frozen."""
    torch.manual_seed(0)
    net = ViTFeatures(TINY_VIT, ["block3"], pretrained=False, trainable=True)
    net(torch.rand(1, 3, 32, 32))["block3"].square().mean().backward()
    trainable = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    assert trainable and [n for n, p in trainable if p.grad is None] == []
    assert (
        net.model.blocks[3].attn.qkv.weight.requires_grad
        and not net.model.blocks[4].mlp.fc1.weight.requires_grad
    )
    full = ViTFeatures(TINY_VIT, ["final"], pretrained=False, trainable=True)
    assert (
        all(p.requires_grad for p in full.model.blocks.parameters())
        and full.model.norm.weight.requires_grad
    )


def test_evaluation_builds_no_graph(tmp_path):
    torch.manual_seed(0)
    ckpt = save_release(tmp_path / "m.safetensors", StyleTransferNet(vgg_config()))
    assert not any(p.requires_grad for p in load_model(ckpt).parameters())
    method = CheckpointMethod(ckpt, "m")
    seen = []
    method.net.decoder.register_forward_hook(
        lambda m, i, o: seen.append(torch.is_inference_mode_enabled())
    )
    method.net.requires_grad_(True)  # even a model that records gradients keeps no graph here
    out = method.stylize(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    assert seen == [True] and out.grad_fn is None and out.device.type == "cpu"


def test_variants_evaluate_on_cuda_when_available(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(eval.variants, "train_variant", lambda cfg, out, launcher: out / cfg.name)
    monkeypatch.setattr(eval.variants, "compare_runs", lambda *a, **k: None)
    monkeypatch.setattr(eval.variants, "evaluate", lambda *a, **k: seen.update(k) or [])
    eval.variants.compare_variants(tmp_path, ["vgg_adain_meanstd"], data_root=str(tmp_path))
    assert seen["device"] == "cuda"
    eval.variants.compare_variants(
        tmp_path, ["vgg_adain_meanstd"], data_root=str(tmp_path), device="cpu"
    )
    assert seen["device"] == "cpu"
