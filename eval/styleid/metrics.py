"""StyleID's metrics for one folder of outputs: ArtFID, FID, LPIPS (RGB and gray), CFSD, classic
losses.

Definitions and their source lines: eval/styleid/protocol.md. Each network is loaded from the
standard place (torchvision's cache for VGG19 and AlexNet, the LPIPS heads from torchmetrics'
package, art_inception per eval/styleid/art_inception.py); a metric whose weights are missing is
left empty ("") with one note line naming the file and where to put it, and the others are still
computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import Compose, Grayscale, Resize, ToTensor

from eval.learned_metrics import artfid
from eval.metric_nets import MetricUnavailable, build_lpips
from eval.styleid import cfsd as cfsd_lib
from eval.styleid import paper_losses as losses
from eval.styleid.art_inception import (
    ArtInceptionUnavailable,
    features_net,
    load_art_inception,
    pooled_features,
)
from eval.styleid.fid import FID_INFINITY_MIN, fid_from_features, fid_infinity
from eval.styleid.triples import Triple
from media.progress import tqdm
from models.config import HED_SOURCE
from models.pretrained import PretrainedWeightsError, seeded
from models.registry import build_feature_net
from models.vgg import vgg_arch_for

COLUMNS = (
    "artfid",
    "fid",
    "lpips",
    "lpips_gray",
    "cfsd",
    "content_loss",
    "style_loss",
    "gram_loss",
    "images",
    "cfsd_per_patch",
    "gram_matrix_loss",
    "content_loss_microast",
    "style_loss_microast",
    "fid_infinity",
)
RESIZE = 512  # short side for FID and LPIPS (StyleID eval_artfid.py:56, 283-287)
TO_TENSOR = ToTensor()


def transforms(resize: int) -> tuple[Compose, Compose]:
    """FID's and LPIPS' Resize(short side) + ToTensor (eval_artfid.py:56, 286-287), and LPIPS' gray
    one
    with PIL's ITU-R 601-2 luma between them (eval_artfid.py:283-284)."""
    return Compose([Resize(resize), ToTensor()]), Compose([Resize(resize), Grayscale(), ToTensor()])


@dataclass(frozen=True)
class MetricOptions:
    """Where each network's weights come from. "random": seeded random weights (code paths only)."""

    # pretrained (torchvision cache) | random | hed (HED's VGG16, offline) | PATH of a vgg19 file
    vgg: str = "pretrained"
    lpips: str = "pretrained"  # pretrained (torchvision's AlexNet) | random backbone
    art_inception: str | None = None  # FILE | "random" | None: the hub cache / StyleID's tmp folder
    fid_infinity: bool = False  # also FID-infinity (> 5000 outputs only)
    resize: int = RESIZE  # StyleID's 512; smaller only for tests (the table then says so)
    device: str = "cpu"
    seed: int = 0


def _vgg(opts: MetricOptions):
    layers = sorted({cfsd_lib.LAYER, *losses.LAYERS})
    with seeded(opts.seed):
        return build_feature_net(vgg_arch_for(opts.vgg), layers, opts.vgg).to(opts.device)


def _lpips(opts: MetricOptions):
    with seeded(opts.seed):
        return build_lpips("alex", random_backbone=opts.lpips == "random").to(opts.device)


def _inception(opts: MetricOptions):
    if opts.art_inception == "random":
        with seeded(opts.seed):
            return features_net(spread=True).to(opts.device)
    return load_art_inception(opts.art_inception).to(opts.device)


RANDOM_HINT = "or --metric-weights random (seeded random networks: a code check, not the metric)"


def _load(builder, opts: MetricOptions, notes: list[str], what: str):
    """The network, or None with one note line (the loaders' messages name the file and where to
    put it; the flag that runs without it is added)."""
    try:
        return builder(opts)
    except (PretrainedWeightsError, MetricUnavailable, ArtInceptionUnavailable) as error:
        notes.append(f"{what} left empty: {str(error).splitlines()[0]}; {RANDOM_HINT}")
        return None


@dataclass(frozen=True)
class MetricNets:
    """The metric networks of a run, each loaded once (None: its weights are missing)."""

    vgg: torch.nn.Module | None
    lpips: torch.nn.Module | None
    inception: torch.nn.Module | None


def load_nets(opts: MetricOptions, notes: list[str]) -> MetricNets:
    """Every metric network, once per run: a missing one is one note, not one per folder."""
    jobs = {
        "vgg": (
            _vgg,
            f"cfsd, content_loss, style_loss, gram_loss ({vgg_arch_for(opts.vgg)})",
        ),
        "lpips": (_lpips, "lpips, lpips_gray, artfid (AlexNet)"),
        "inception": (_inception, "fid, artfid (art_inception)"),
    }
    nets = {}
    for key, (builder, what) in tqdm(jobs.items(), desc="metric networks", unit="net"):
        nets[key] = _load(builder, opts, notes, what)
    return MetricNets(**nets)


def _batch(transform, image, device: str) -> torch.Tensor:
    return transform(image).unsqueeze(0).to(device)


@torch.no_grad()
def compute_metrics(
    triples: list[Triple],
    opts: MetricOptions,
    notes: list[str],
    nets: MetricNets | None = None,
    label: str = "",
) -> dict[str, float | str | int]:
    """One row of COLUMNS for the triples (means over them); missing networks leave their columns
    "". `nets`: load_nets' (None: loaded here); `label` names the progress bar."""
    nets = nets or load_nets(opts, notes)
    vgg, lpips, inception = nets.vgg, nets.lpips, nets.inception
    sums: dict[str, list[float]] = {k: [] for k in COLUMNS}
    for_fid, for_gray = transforms(opts.resize)
    stylized_feats, style_feats, style_cache = [], [], {}
    style_vgg: dict[str, dict[str, torch.Tensor]] = {}
    # a progress bar always (also in a log): at StyleID's 512 px a folder takes minutes on a CPU
    for t in tqdm(triples, desc=f"metrics {label}".strip(), unit="image"):
        if vgg is not None:
            out, cnt = (
                _batch(TO_TENSOR, t.stylized, opts.device),
                _batch(TO_TENSOR, t.content, opts.device),
            )
            total, per_patch = cfsd_lib.cfsd_pair(vgg, out, cnt)
            sums["cfsd"].append(total)
            sums["cfsd_per_patch"].append(per_patch)
            f_out, f_cnt = vgg(out), vgg(cnt)
            if t.style_name not in style_vgg:
                style_vgg[t.style_name] = vgg(_batch(TO_TENSOR, t.style, opts.device))
            f_sty = style_vgg[t.style_name]
            sums["content_loss"].append(losses.content_loss(f_out, f_cnt))
            sums["style_loss"].append(losses.style_loss(f_out, f_sty))
            sums["gram_loss"].append(losses.gram_loss(f_out, f_sty))
            sums["gram_matrix_loss"].append(losses.gram_matrix_loss(f_out, f_sty))
            sums["content_loss_microast"].append(losses.content_loss_microast(f_out, f_cnt))
            sums["style_loss_microast"].append(losses.style_loss_microast(f_out, f_sty))
        if lpips is not None:
            for key, transform in (("lpips", for_fid), ("lpips_gray", for_gray)):
                # a 1-channel image broadcasts to 3 in LPIPS' input scaling (StyleID's gray path);
                # explicit here
                a, b = (
                    _batch(transform, im, opts.device).expand(-1, 3, -1, -1)
                    for im in (t.stylized, t.content)
                )
                sums[key].append(lpips(a, b).item())
        if inception is not None:
            stylized_feats.append(
                pooled_features(inception, _batch(for_fid, t.stylized, opts.device)).cpu()
            )
            if t.style_name not in style_cache:
                style_cache[t.style_name] = pooled_features(
                    inception, _batch(for_fid, t.style, opts.device)
                ).cpu()
            # one copy of the style per output, as in StyleID's duplicated sty_eval folder
            style_feats.append(style_cache[t.style_name])
    row: dict[str, float | str | int] = {
        k: (float(np.mean(v)) if v else "") for k, v in sums.items()
    }
    row["images"] = len(triples)
    if stylized_feats:
        x1, x2 = torch.cat(stylized_feats).numpy(), torch.cat(style_feats).numpy()
        try:
            row["fid"] = fid_from_features(x1, x2)
        except ValueError as error:
            notes.append(f"fid left empty: {error}")
        if opts.fid_infinity:
            if len(x1) > FID_INFINITY_MIN:
                row["fid_infinity"] = fid_infinity(x1, x2, seed=opts.seed)
            else:
                notes.append(
                    f"fid_infinity left empty: it needs more than {FID_INFINITY_MIN} outputs, "
                    f"got {len(x1)} (StyleID's default FID-infinity is then plain FID: "
                    "eval/styleid/protocol.md)"
                )
    if row["lpips"] != "" and row["fid"] != "":
        row["artfid"] = artfid(row["lpips"], row["fid"])
    return row


def table_notes(opts: MetricOptions) -> list[str]:
    """Labels for settings that make the numbers not the published metrics (random weights,
    resize)."""
    notes = (
        []
        if opts.resize == RESIZE
        else [
            f"Resize({opts.resize}) instead of StyleID's Resize({RESIZE}) "
            "for FID and LPIPS: not comparable with published tables"
        ]
    )
    if opts.vgg == HED_SOURCE:
        notes.append(
            "CFSD and the content/style losses on HED's VGG16 (--vgg-weights hed), "
            "not StyleID's ImageNet VGG19: compare them only within this table"
        )
    random = [
        name
        for name, value in (
            ("VGG19", opts.vgg),
            ("AlexNet", opts.lpips),
            ("art_inception", opts.art_inception),
        )
        if value == "random"
    ]
    return notes + (
        [
            f"RANDOM WEIGHTS ({', '.join(random)}): these numbers test the code path; they are not "
            "the published metrics"
        ]
        if random
        else []
    )


def metric_settings(opts: MetricOptions) -> dict:
    """The settings that decide the numbers (written next to the tables)."""
    return {
        "vgg": opts.vgg,
        "lpips": opts.lpips,
        "art_inception": str(opts.art_inception),
        "fid_infinity": opts.fid_infinity,
        "seed": opts.seed,
        "resize": opts.resize,
    }


__all__ = [
    "COLUMNS",
    "MetricNets",
    "MetricOptions",
    "compute_metrics",
    "load_nets",
    "metric_settings",
    "table_notes",
]
