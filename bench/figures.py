"""The inference figures (CPU, random weights): throughput vs the reference conv, bf16, ViT, \
optimization, tiling.

Each function returns a dict of plain numbers; `python -m bench figures [name ...]` runs them. The
passes are bench.cases's (the table's), measured with bench.harness's timer, FLOP counter and
reference conv, so a figure and the table row of the same pass report the same GFLOP and time it the
same way; `*_spread` (max / min - 1 of the timed calls) says how noisy a timing was. Run nothing
else meanwhile: with every core busy, OpenMP's barriers stall each parallel op (measured: a 64 px
optimization step took 1.44 s on 2 threads vs 0.09 s on 1 while one other job ran). The
optimization-curve figures (gatys_defaults, multiscale) read seconds off the optimization's own
log: they measure time to reach a loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from bench.cases import (
    VIT_BASE,
    feature_net,
    optimize_step_pass,
    random_pair,
    stylization_net,
    stylization_pass,
)
from bench.harness import PeakMemory, measure, reference_conv, time_call
from inference.engine import Engine
from inference.optimize import optimize
from media.files import atomic_path
from media.progress import tqdm
from media.resize import resize_short
from models.gatys import OptimizeOptions
from models.net import StyleTransferNet
from models.pretrained import seeded

CPU = torch.device("cpu")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a.float() - b.float()) ** 2).mean().clamp_min(1e-12)))


def _vary_outputs(net: StyleTransferNet) -> StyleTransferNet:
    """He init without biases for the decoder: torch's default init makes a random decoder output
    ~0.5 everywhere, and a PSNR between two near-constant images says nothing about bf16's error.
    The FLOPs and the speed do not change: only the weights' values do."""
    for m in net.decoder.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    last = [m for m in net.decoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    last.weight.data *= 8  # as in tests/test_infer_cli.py: output std ~0.1-0.2 instead of ~0.03
    return net


def stylization_throughput(
    method: str = "decoder_vgg", size: int = 512, model_name: str = VIT_BASE, quick: bool = False
) -> dict:
    """GFLOP/s of one stylization (the table's decoder_* pass at batch 1) in fp32 and bf16, over the
    reference conv of the same precision, and the PSNR of the bf16 output against the fp32 one."""
    # _vary_outputs draws weights: the same net every run, the caller's RNG untouched
    with seeded(0):
        net = _vary_outputs(stylization_net(method, model_name))
    content, style = random_pair(1, size)
    runs, images = {}, {}
    for precision in ("fp32", "bf16"):
        run = stylization_pass(net, CPU, precision, content, style)
        runs[precision] = (
            measure(run, CPU, quick),
            reference_conv(CPU, precision, quick)["gflops_per_s"],
        )
        images[precision] = run()
    (m32, ref32), (m16, ref16) = runs["fp32"], runs["bf16"]
    return {
        "gflop": m32.flops / 1e9,
        "fp32_seconds": m32.timing.seconds,
        "fp32_gflops": m32.gflops_per_s,
        "reference_conv_gflops": ref32,
        "ratio_to_reference": m32.gflops_per_s / ref32,
        "bf16_seconds": m16.timing.seconds,
        "bf16_gflops": m16.gflops_per_s,
        "reference_conv_gflops_bf16": ref16,
        "bf16_ratio_to_reference": m16.gflops_per_s / ref16,
        "bf16_speedup": m32.timing.seconds / m16.timing.seconds,
        "bf16_psnr_db": _psnr(images["fp32"], images["bf16"]),
        "fp32_spread": m32.timing.spread,
        "bf16_spread": m16.timing.spread,
        "output_std": float(images["fp32"].std()),
    }


def _images(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real photos (skimage's astronaut and Hubble deep field): loss curves on noise say little."""
    from skimage import data

    def t(a):
        return resize_short(
            torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255)[None], size
        )

    content = t(data.astronaut())[..., :size, :size]
    return content, t(data.hubble_deep_field())


def _optimization(size: int, precision: str, steps: int, quick: bool) -> tuple[dict, torch.Tensor]:
    """One optimization step timed (the table's optimize_step pass, Adam as optimize() defaults to),
    and the image after `steps` steps of optimize()."""
    content, style = _images(size)
    opts = OptimizeOptions(steps=steps, precision=precision)
    m = measure(optimize_step_pass(content, style, opts), CPU, quick)
    ref = reference_conv(CPU, precision, quick)["gflops_per_s"]
    result = optimize(feature_net(opts), content, [style], opts)
    return {
        "seconds_per_step": m.timing.seconds,
        "seconds_per_step_spread": m.timing.spread,
        "gflop_per_step": m.flops / 1e9,
        "gflops": m.gflops_per_s,
        "reference_conv_gflops": ref,
        "ratio_to_reference": m.gflops_per_s / ref,
        "first_total": result.log[0]["total"],
    }, result.image


def optimization_step_compare(size: int = 256, steps: int = 8, quick: bool = False) -> dict:
    """One optimization step in fp32 and bf16 (autocast of the feature net); PSNR of the images
    after `steps`."""
    fp32, out32 = _optimization(size, "fp32", steps, quick)
    bf16, out16 = _optimization(size, "bf16", steps, quick)
    return {
        **fp32,
        **{f"bf16_{k}": v for k, v in bf16.items()},
        "bf16_speedup": fp32["seconds_per_step"] / bf16["seconds_per_step"],
        # after `steps` Adam steps: Adam's normalized steps amplify
        "bf16_psnr_db": _psnr(out32, out16),
        # tiny gradient differences, so this drifts with the step count; the first loss is bf16's
        # own error
        "bf16_first_loss_rel_err": abs(bf16["first_total"] / fp32["first_total"] - 1),
    }


def gatys_default_check(size: int = 256, steps: int = 200, **opts) -> dict:
    """The default weights on real photos (random VGG offline): style drop and content vs an
    unrelated image."""
    from models.losses import content_loss

    content, style = _images(size)
    o = OptimizeOptions(steps=steps, **opts)
    net = feature_net(o)
    result = optimize(net, content, [style], o)
    with torch.no_grad():
        unrelated = F.interpolate(style, size=content.shape[-2:], mode="bilinear")
        layer = o.layers()[0][0]  # the content layer the optimization minimises (relu4_2 for vgg19)
        ref = float(content_loss(net(unrelated, [layer])[layer], net(content, [layer])[layer]))
    first, last = result.log[0], min(result.log, key=lambda e: e["total"])
    return {
        "style_start": first["style"],
        "style_end": last["style"],
        "style_drop": first["style"] / last["style"],
        "content_end": last["content"],
        "content_unrelated": ref,
        "content_ratio": last["content"] / ref,
        "seconds": result.log[-1]["seconds"],
    }


def multiscale_vs_single(
    size: int = 256, steps: int = 120, coarse_steps: int = 100, fine_steps: int = 50
) -> dict:
    """Loss-vs-seconds of single-scale vs coarse-to-fine; time multi-scale needs to reach single's
    final loss.

    Both runs are scored at full size: the multi-scale fine stage's log is at full size already; its
    time to reach the single-scale final total is read off that stage's log.
    """
    content, style = _images(size)
    o = OptimizeOptions(steps=steps)
    net = feature_net(o)
    single = optimize(net, content, [style], o).log
    target = min(e["total"] for e in single)
    multi = optimize(
        net,
        content,
        [style],
        OptimizeOptions(steps=[coarse_steps, fine_steps], scales=(size // 2, size)),
    ).log
    fine = [e for e in multi if e["stage"] == 1]
    reached = next((e["seconds"] for e in fine if e["total"] <= target), None)
    return {
        "single_final_total": target,
        "single_seconds": single[-1]["seconds"],
        "multi_final_total": min(e["total"] for e in fine),
        "multi_seconds": multi[-1]["seconds"],
        "multi_seconds_to_single_final": reached if reached is not None else float("nan"),
        "time_fraction": (reached / single[-1]["seconds"]) if reached is not None else float("nan"),
        "single_curve": [(e["seconds"], e["total"]) for e in single[::10]],
        "multi_curve": [(e["seconds"], e["total"]) for e in fine[::5]],
    }


def tiled_large(size: int = 4096, tile: int = 1024, overlap: int = 128) -> dict:
    """A size x size content through the VGG decoder in tiles: seconds and the peak memory of the
    call in GB (above the memory in use before it, the 4096^2 input included there;
    bench.harness.PeakMemory)."""
    stylizer = Engine.for_net(stylization_net("decoder_vgg"), CPU, "fp32", True, tile, overlap)
    content, style = random_pair(1, size)[0], random_pair(1, 512)[1]
    shape = []

    def run():
        shape[:] = stylizer.decode_batch(content, [stylizer.encode(style)])[0].shape

    with PeakMemory(CPU) as memory:
        # ~150 s: the warm-up is the sample
        timing = time_call(run, CPU, max_repeats=1, min_repeats=1)
    return {
        "seconds": timing.seconds,
        "repeats": timing.repeats,
        "peak_memory_gb": memory.peak_mib / 1024,
        "memory_method": memory.method,
        "shape": shape,
    }


FIGURES = {
    "vgg": lambda: stylization_throughput("decoder_vgg"),
    "vit": lambda: stylization_throughput("decoder_vit"),
    "optimize_step": optimization_step_compare,
    "gatys_defaults": gatys_default_check,
    "multiscale": multiscale_vs_single,
    "tiled_4096": tiled_large,
}


def plot_multiscale(result: dict, path: Path) -> None:
    """Loss (at full size) vs seconds of the single-scale and the coarse-to-fine run, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (
        ("single_curve", "single scale"),
        ("multi_curve", "coarse-to-fine (fine stage)"),
    ):
        seconds, totals = zip(*result[key])
        ax.plot(seconds, totals, label=label)
    ax.axhline(
        result["single_final_total"], color="grey", linestyle=":", label="single-scale final loss"
    )
    ax.set(
        xlabel="seconds", ylabel="total loss at full size", yscale="log", title="Gatys optimization"
    )
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def run_figures(names: list[str], out: str | Path | None = None) -> dict:
    """Run the named figures (all when empty), print each, and write <out>/<name>.json (and
    multiscale.png)."""
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    results = {}
    for name in tqdm(names or list(FIGURES), desc="figures", unit="figure"):
        results[name] = FIGURES[name]()
        print(name, json.dumps(results[name], default=float), flush=True)
        if out:
            folder = Path(out)
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(folder / f"{name}.json") as tmp:
                tmp.write_text(
                    json.dumps(results[name], default=float, indent=1) + "\n", encoding="utf-8"
                )
            if name == "multiscale":
                plot_multiscale(results[name], folder / "multiscale.png")
    return results
