"""Where one training step's time goes: torch.profiler self time by network part and by operator \
kind.

    python -m bench train-step --profile [--configs vgg_adain_meanstd] [--size 256]

Parts come from profiler scopes opened by forward hooks on the objective: the frozen feature passes
(the encoder's, and the loss network's on the inputs, without grad: "encoder forward (frozen
features)"), the decoder's forward, the loss network's forward on the output image, torch's
optimizer-step scope, and the rest of the objective (transform, statistics, losses). Backward ops go
to the part of the forward op that made their graph node. Kinds group every operator's self time:
convolution, matmul, activation, pooling, padding, upsampling, normalization/statistics, layout
conversions (copies between memory formats), allocation (empty/fill), elementwise, other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch
from torch.autograd.profiler import record_function
from torch.profiler import ProfilerActivity, profile

KINDS = (  # first match wins, on the lower-cased operator name
    ("convolution", ("conv",)),
    ("activation", ("relu", "clamp_min", "threshold", "gelu", "sigmoid", "tanh")),
    ("pooling", ("pool",)),
    ("padding", ("pad",)),
    ("upsampling", ("upsample",)),
    ("matmul (attention, MLP)", ("bmm", "matmul", "addmm", "linear", "mm", "attention", "softmax")),
    ("normalization/statistics", ("var_mean", "norm", "std", "mean")),
    ("layout conversion", ("copy_", "contiguous", "clone", "to_copy")),
    ("allocation", ("empty", "fill_", "zero_", "zeros", "ones")),
    (
        "elementwise",
        ("add", "sub", "mul", "div", "pow", "sqrt", "sum", "exp", "log", "neg", "where", "abs"),
    ),
)
PART_PREFIX = "part:"


def kind_of(op: str) -> str:
    name = op.lower()
    for kind, keys in KINDS:
        if any(k in name for k in keys):
            return kind
    return "other"


def add_part_scopes(objective: torch.nn.Module) -> list:
    """Hooks that open a profiler scope around the encoder's, the decoder's and the loss network's
    forward."""
    handles, open_scopes = [], []

    def enter(label: str) -> Callable:
        def hook(module, *_):
            name = (
                f"{label} forward"
                if torch.is_grad_enabled()
                else "encoder forward (frozen features)"
            )
            open_scopes.append(record_function(PART_PREFIX + name))
            open_scopes[-1].__enter__()

        return hook

    def leave(module, *_):
        open_scopes.pop().__exit__(None, None, None)

    net = objective.net
    parts = (
        ("encoder", net.encoder),
        ("decoder", net.decoder),
        ("loss network", objective.loss_net),
    )
    for (
        label,
        module,
    ) in parts:  # a VGG encoder shared with the loss network runs inside the loss network
        handles += [
            module.register_forward_pre_hook(enter(label)),
            module.register_forward_hook(leave),
        ]
    return handles


def profile_step(step: Callable[[], None], objective: torch.nn.Module) -> dict:
    """Self seconds of one step (after one warm-up) by part and by operator kind."""
    step()
    handles = add_part_scopes(objective)
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with record_function(PART_PREFIX + "step"):
                step()
    finally:
        for h in handles:
            h.remove()
    # A backward op is charged to the part whose forward op made its graph node: autograd gives the
    # node the forward op's sequence number, and the profiler records it on both.
    forward_part: dict[int, str] = {}
    for event in prof.events():
        if event.sequence_nr >= 0 and not _in_backward(event):
            forward_part.setdefault(event.sequence_nr, _scope(event))
    parts, kinds = Counter(), Counter()
    for event in prof.events():
        if event.name.startswith(PART_PREFIX) or event.self_cpu_time_total <= 0:
            continue
        seconds = event.self_cpu_time_total / 1e6
        kinds[kind_of(event.name)] += seconds
        if _in_backward(event):
            seq = next(
                (n.sequence_nr for n in _ancestors(event) if n.sequence_nr in forward_part), None
            )
            part = forward_part.get(seq, "statistics, losses, transform forward").replace(
                "forward", "backward"
            )
        else:
            part = _scope(event)
        parts[part] += seconds
    return {
        "total_s": sum(kinds.values()),
        "parts": dict(parts.most_common()),
        "kinds": dict(kinds.most_common()),
    }


def _scope(event) -> str:
    for node in _ancestors(event):
        if node.name.startswith(PART_PREFIX) and node.name != PART_PREFIX + "step":
            return node.name[len(PART_PREFIX) :]
        if node.name.startswith("Optimizer.step"):  # torch's own scope of every optimizer step
            return "optimizer"
    return "statistics, losses, transform forward"


def _in_backward(event) -> bool:
    return any(n.name.startswith("autograd::engine::evaluate_function") for n in _ancestors(event))


def _ancestors(event):
    node = event
    while node is not None:
        yield node
        node = node.cpu_parent


def markdown(profiles: dict[str, dict]) -> str:
    lines = []
    for name, p in profiles.items():
        total = p["total_s"]
        lines += [
            f"\n{name}: {total:.2f} s of operator self time",
            "",
            "| part | s | % |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v:.2f} | {100 * v / total:.1f} |" for k, v in p["parts"].items()]
        lines += ["", "| operator kind | s | % |", "|---|---|---|"]
        lines += [f"| {k} | {v:.2f} | {100 * v / total:.1f} |" for k, v in p["kinds"].items()]
    return "\n".join(lines) + "\n"
