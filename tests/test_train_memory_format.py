"""CPU/GPU speed settings of training, and that they change no number beyond float32 noise.

train.memory_format: channels_last through forward and backward trains what NCHW trains and "auto"
picks per device; train.py keeps freed memory on CPU; data.num_workers auto: 0 workers on CPU, the
cores shared on CUDA.
"""

from __future__ import annotations

import torch
from train_helpers import NOISE, SMOKE, step_gradients, tiny_config, tiny_overrides

import train as train_module
import training.data as data_module
from runtime.device import memory_format
from train import train
from training.data import loader_workers
from training.objective import StyleTransferObjective

# what keep_channels_last swaps out
TORCH_LAYERS = (torch.nn.Conv2d, torch.nn.ReflectionPad2d, torch.nn.InstanceNorm2d)
ONE_STEP = {"train.steps": 1, "train.save_every": 1, "train.val_pairs": 1}


def test_auto_is_channels_last_on_cuda_and_native_bf16_cpus_and_nchw_on_avx2(monkeypatch):
    assert memory_format("auto", torch.device("cuda")) == torch.channels_last
    for name, value in (("_is_avx512_bf16_supported", False), ("_is_amx_tile_supported", False)):
        monkeypatch.setattr(torch.cpu, name, lambda value=value: value)
    # AVX2: NHWC backward is slower
    assert memory_format("auto", torch.device("cpu")) == torch.contiguous_format
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    # AMX: 2.3x in bf16 (docs/results.md)
    assert memory_format("auto", torch.device("cpu")) == torch.channels_last
    assert memory_format("channels_last", torch.device("cpu")) == torch.channels_last
    assert memory_format("contiguous", torch.device("cuda")) == torch.contiguous_format


def test_channels_last_trains_like_nchw(sample_root, tmp_path, monkeypatch):
    seen = []
    forward = StyleTransferObjective.forward

    def recording(self, content, style, alpha=1.0):
        weight = next(p for p in self.net.decoder.parameters() if p.dim() == 4)
        seen.append(
            (
                content.is_contiguous(memory_format=torch.channels_last),
                weight.is_contiguous(memory_format=torch.channels_last),
                # net and loss network: the layers that keep NHWC, in any run
                # (runtime/channels_last.py)
                not any(type(m) in TORCH_LAYERS for m in self.modules()),
            )
        )
        return forward(self, content, style, alpha)

    monkeypatch.setattr(StyleTransferObjective, "forward", recording)
    results = {}
    for layout in ("contiguous", "channels_last"):
        seen.clear()
        results[layout] = train(
            tiny_config(sample_root, **ONE_STEP, **{"train.memory_format": layout}),
            tmp_path / layout,
        )
        # the batches AND the weights are in the chosen layout (a 3-channel 32 px batch is both only
        # when NHWC)
        nhwc = layout == "channels_last"
        assert seen and all(s == (nhwc, nhwc, True) for s in seen), (layout, seen)
    # the losses agree to float32 summation noise; the gradients to the max-pool noise floor
    # (train_helpers.NOISE: another summation order flips near-tied 2x2 windows of the flat grey
    # output), not exactly
    for key, value in results["contiguous"].metrics.items():
        assert abs(results["channels_last"].metrics[key] - value) <= 1e-5 * max(1.0, abs(value)), (
            key
        )
    pairs = list(
        zip(*(step_gradients(tmp_path / layout) for layout in ("contiguous", "channels_last")))
    )
    for nchw, nhwc in pairs:
        torch.testing.assert_close(
            nhwc.contiguous(), nchw, rtol=0, atol=NOISE * float(nchw.abs().max())
        )
    # the other layout did run other kernels
    assert any(not torch.equal(a, b.contiguous()) for a, b in pairs)


def test_cli_keeps_freed_memory_on_cpu(sample_root, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(train_module, "keep_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(train_module.torch.cuda, "is_available", lambda: False)
    code = train_module.main(
        [
            "--config",
            str(SMOKE),
            "--run-dir",
            str(tmp_path / "run"),
            *tiny_overrides(sample_root, **ONE_STEP),
        ]
    )
    assert code == 0 and calls == [1]


def test_auto_loader_workers_are_none_on_cpu_and_share_the_cores_on_cuda():
    # the step's threads use every core: a worker only takes from them
    assert loader_workers(-1, "cpu") == 0
    # 2 streams x 2 processes x 2 = 8 cores
    assert loader_workers(-1, "cuda", local_processes=2, cores=8) == 2
    assert loader_workers(-1, "cuda", local_processes=1, cores=64) == 4
    assert loader_workers(-1, "cuda", local_processes=8, cores=4) == 1
    # an explicit count is kept
    assert loader_workers(3, "cpu") == 3 and loader_workers(0, "cuda") == 0


def test_train_builds_its_loaders_with_the_resolved_worker_count(
    sample_root, tmp_path, monkeypatch
):
    counts = []
    real = data_module.make_loader
    monkeypatch.setattr(
        data_module,
        "make_loader",
        lambda ds, s, b, workers, pin: counts.append(workers) or real(ds, s, b, workers, pin),
    )
    train(tiny_config(sample_root, **ONE_STEP, **{"data.num_workers": -1}), tmp_path / "auto")
    train(tiny_config(sample_root, **ONE_STEP, **{"data.num_workers": 1}), tmp_path / "one")
    assert counts == [0, 0, 1, 1]  # content and style streams, auto on CPU then an explicit 1
