"""Inference benchmarks (CPU, random weights): throughput vs a conv roofline, bf16, ViT, optimization, tiling.

Each function returns a dict of plain numbers. Run all: `python -m eval.bench_inference [name ...]`.
Timings are the best of N runs after a warm-up (oneDNN creates its primitives on the first call); the
machine may be shared, and the minimum is the least disturbed estimate. Ratios pair a best-of-N with the
reference conv's best-of-N measured in the same process, and `*_spread` (max/min - 1) says how noisy a
timing was. Run nothing else meanwhile: with every core busy, OpenMP's barriers stall each parallel op
(measured: a 64 px optimization step took 1.44 s on 2 threads vs 0.09 s on 1 while one other job ran).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode, flop_registry, register_flop_formula, sdpa_flop_count

from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from data_prep.resize import resize_short
from inference.allocator import keep_freed_memory
from inference.stylizer import Stylizer
from models.gatys import OptimizeOptions, optimize
from models.net import StyleTransferNet
from models.precision import autocast as autocast_context


def _times(fn, repeat: int = 3) -> list[float]:
    """Seconds of `repeat` calls after one warm-up call (oneDNN primitive creation is not timed)."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _timeit(fn, repeat: int = 3) -> float:
    return min(_times(fn, repeat))


def _spread(times: list[float]) -> float:
    return max(times) / min(times) - 1


def _cpu_sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """torch counts the CUDA attention kernels only; without this a 512 px ViT pass loses its attention
    (4 * tokens^2 * dim per block: 77 of 493 GFLOP for content + style), understating its GFLOP/s by 16%."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


if torch.ops.aten._scaled_dot_product_flash_attention_for_cpu not in flop_registry:  # a later torch may count it
    register_flop_formula(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu)(_cpu_sdpa_flops)


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a.float() - b.float()) ** 2).mean().clamp_min(1e-12)))


def reference_conv_gflops(precision: str = "fp32", channels_last: bool = True, repeat: int = 5) -> float:
    """GFLOP/s of a 3x3, 256->256 conv on a 128x128 map (the CPU's practical conv roofline), best of N."""
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).eval()
    x = torch.rand(1, 256, 128, 128)
    if channels_last:
        conv, x = conv.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), autocast_context(torch.device("cpu"), precision):
        seconds = _timeit(lambda: conv(x), repeat)
    return 2 * 256 * 256 * 9 * 128 * 128 / seconds / 1e9


def _net(kind: str = "vgg19") -> StyleTransferNet:
    torch.manual_seed(0)
    if kind == "vit":
        enc = EncoderConfig(kind="vit", name="vit_base_patch16_224", pretrained=False)
        return StyleTransferNet(ModelConfig(enc, DecoderConfig(kind="transposed_conv"))).eval()
    return StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig())).eval()


def _vary_outputs(net: StyleTransferNet) -> StyleTransferNet:
    """He init without biases for the decoder: torch's default init makes a random decoder output ~0.5
    everywhere, and a PSNR between two near-constant images says nothing about bf16's error."""
    for m in net.decoder.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    last = [m for m in net.decoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    last.weight.data *= 8  # as in tests/test_infer_cli.py: output std ~0.1-0.2 instead of ~0.03
    return net


def stylization_throughput(kind: str = "vgg19", size: int = 512, channels_last: bool = True, repeat: int = 3) -> dict:
    """(a)/(b)/(c): GFLOP/s of a whole stylization (encode content + style, AdaIN, decode), fp32 and bf16."""
    stylizer = Stylizer(_vary_outputs(_net(kind)), torch.device("cpu"), "fp32", channels_last, tile_size=0)
    content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)

    def run():
        return stylizer.stylize(content, [stylizer.encode(style)])[0]

    flops = _flops(run)
    ref = reference_conv_gflops("fp32", channels_last)
    fp32 = _times(run, repeat)
    out32 = run()
    ref = max(ref, reference_conv_gflops("fp32", channels_last))  # before and after: the less disturbed one
    stylizer.precision = "bf16"
    ref16 = reference_conv_gflops("bf16", channels_last)
    bf16 = _times(run, repeat)
    out16 = run()
    fp32_s, bf16_s = min(fp32), min(bf16)
    return {"gflop": flops / 1e9, "fp32_seconds": fp32_s, "fp32_gflops": flops / fp32_s / 1e9,
            "reference_conv_gflops": ref, "ratio_to_reference": flops / fp32_s / 1e9 / ref,
            "bf16_seconds": bf16_s, "bf16_speedup": fp32_s / bf16_s, "bf16_psnr_db": _psnr(out32, out16),
            "fp32_spread": _spread(fp32), "bf16_spread": _spread(bf16), "bf16_gflops": flops / bf16_s / 1e9,
            "reference_conv_gflops_bf16": ref16, "bf16_ratio_to_reference": flops / bf16_s / 1e9 / ref16,
            "output_std": float(out32.std())}


def _optimize_run(size: int, precision: str, steps: int) -> tuple[dict, torch.Tensor]:
    from models.gatys import Objective, blended_style_targets
    from models.registry import build_feature_net

    opts = OptimizeOptions(steps=steps, precision=precision)
    content_layers, style_layers = opts.layers()
    torch.manual_seed(0)  # random weights: the same net whichever benchmark ran before
    net = build_feature_net("vgg19", list(dict.fromkeys([*content_layers, *style_layers])), "random")
    content, style = _images(size)
    targets = blended_style_targets(net, [style], [1.0], style_layers, opts.style_loss, precision)
    objective, image = Objective(net, content, targets, opts), content.clone().requires_grad_(True)
    flops = _flops(lambda: objective(image)["total"].backward())  # one step = forward + backward
    result = optimize(net, content, [style], opts)
    seconds = [b["seconds"] - a["seconds"] for a, b in zip(result.log[1:], result.log[2:])]  # step 1 warms up
    step_s = min(seconds)
    ref = reference_conv_gflops(precision)
    return {"seconds_per_step_approx": step_s, "gflops": flops / step_s / 1e9, "gflop_per_step": flops / 1e9,
            "seconds_per_step_median": statistics.median(seconds), "seconds_per_step_spread": _spread(seconds),
            "reference_conv_gflops": ref, "ratio_to_reference": flops / step_s / 1e9 / ref,
            "first_total": result.log[0]["total"]}, result.image


def optimization_step(size: int = 256, precision: str = "fp32", steps: int = 8) -> dict:
    """(c): seconds and GFLOP/s of one Adam step of the Gatys optimization (VGG19, random weights)."""
    return _optimize_run(size, precision, steps)[0]


def optimization_step_compare(size: int = 256, steps: int = 8) -> dict:
    """(c): one optimization step in fp32 and bf16 (autocast of the feature net); PSNR of the images after `steps`."""
    fp32, out32 = _optimize_run(size, "fp32", steps)
    bf16, out16 = _optimize_run(size, "bf16", steps)
    return {**fp32, **{f"bf16_{k}": v for k, v in bf16.items()},
            "bf16_speedup": fp32["seconds_per_step_approx"] / bf16["seconds_per_step_approx"],
            "bf16_psnr_db": _psnr(out32, out16),  # after `steps` Adam steps: Adam's normalized steps amplify
            # tiny gradient differences, so this drifts with the step count; the first loss is bf16's own error
            "bf16_first_loss_rel_err": abs(bf16["first_total"] / fp32["first_total"] - 1)}


def _images(size: int):
    from skimage import data

    def t(a):
        return resize_short(torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255)[None], size)

    content = t(data.astronaut())[..., :size, :size]
    return content, t(data.hubble_deep_field())


def gatys_default_check(size: int = 256, steps: int = 200, **opts) -> dict:
    """The default weights on real photos (random VGG offline): style drop and content vs an unrelated image."""
    from models.losses import content_loss
    from models.registry import build_feature_net

    content, style = _images(size)
    o = OptimizeOptions(steps=steps, **opts)
    layers = list(dict.fromkeys([*o.layers()[0], *o.layers()[1]]))
    torch.manual_seed(0)  # random weights: the same net whichever benchmark ran before
    net = build_feature_net("vgg19", layers, "random")
    result = optimize(net, content, [style], o)
    with torch.no_grad():
        unrelated = F.interpolate(style, size=content.shape[-2:], mode="bilinear")
        ref = float(content_loss(net(unrelated, ["conv4_2"])["conv4_2"], net(content, ["conv4_2"])["conv4_2"]))
    first, last = result.log[0], min(result.log, key=lambda e: e["total"])
    return {"style_start": first["style"], "style_end": last["style"], "style_drop": first["style"] / last["style"],
            "content_end": last["content"], "content_unrelated": ref, "content_ratio": last["content"] / ref,
            "seconds": result.log[-1]["seconds"]}


def multiscale_vs_single(size: int = 256, steps: int = 120, coarse_steps: int = 100, fine_steps: int = 50) -> dict:
    """(d): loss-vs-seconds of single-scale vs coarse-to-fine; time multi-scale needs to reach single's final loss.

    Both runs are scored at full size: the multi-scale fine stage's log is at full size already; its time
    to reach the single-scale final total is read off that stage's log.
    """
    from models.registry import build_feature_net

    content, style = _images(size)
    o = OptimizeOptions(steps=steps)
    torch.manual_seed(0)  # random weights: the same net whichever benchmark ran before
    net = build_feature_net("vgg19", list(dict.fromkeys([*o.layers()[0], *o.layers()[1]])), "random")
    single = optimize(net, content, [style], o).log
    target = min(e["total"] for e in single)
    multi = optimize(net, content, [style], OptimizeOptions(steps=[coarse_steps, fine_steps],
                                                            scales=(size // 2, size))).log
    fine = [e for e in multi if e["stage"] == 1]
    reached = next((e["seconds"] for e in fine if e["total"] <= target), None)
    return {"single_final_total": target, "single_seconds": single[-1]["seconds"],
            "multi_final_total": min(e["total"] for e in fine), "multi_seconds": multi[-1]["seconds"],
            "multi_seconds_to_single_final": reached if reached is not None else float("nan"),
            "time_fraction": (reached / single[-1]["seconds"]) if reached is not None else float("nan"),
            "single_curve": [(e["seconds"], e["total"]) for e in single[::10]],
            "multi_curve": [(e["seconds"], e["total"]) for e in fine[::5]]}


def tiled_large(size: int = 4096, tile: int = 1024, overlap: int = 128) -> dict:
    """A size x size content through the VGG decoder in tiles; peak RSS of this process in GB."""
    stylizer = Stylizer(_net(), torch.device("cpu"), "fp32", True, tile, overlap)
    content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, 512, 512)
    start = time.perf_counter()
    out = stylizer.stylize(content, [stylizer.encode(style)])[0]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": time.perf_counter() - start, "peak_rss_gb": peak_kb / 1024**2, "shape": list(out.shape)}


BENCHMARKS = {
    "vgg": lambda: stylization_throughput("vgg19"),
    "vit": lambda: stylization_throughput("vit"),
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
    for key, label in (("single_curve", "single scale"), ("multi_curve", "coarse-to-fine (fine stage)")):
        seconds, totals = zip(*result[key])
        ax.plot(seconds, totals, label=label)
    ax.axhline(result["single_final_total"], color="grey", linestyle=":", label="single-scale final loss")
    ax.set(xlabel="seconds", ylabel="total loss at full size", yscale="log", title="Gatys optimization")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_inference", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--out", help="folder for <name>.json results (and multiscale.png)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    results = {}
    for name in args.names or list(BENCHMARKS):
        results[name] = BENCHMARKS[name]()
        print(name, json.dumps(results[name], default=float), flush=True)
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(json.dumps(results[name], default=float, indent=1) + "\n")
            if name == "multiscale":
                plot_multiscale(results[name], out / "multiscale.png")
    return results


if __name__ == "__main__":
    keep_freed_memory()  # as infer.py does (inference/allocator.py); imported callers decide for themselves
    main()
