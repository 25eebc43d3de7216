"""State dicts saved by other code, matched onto this repo's names: by name, else by module order \
and shapes.

The networks are the same, the names are not: the ViT notebook's `Decoder` has its users' own
attribute names and stage widths, pytorch-AdaIN's decoder.pth is a bare Sequential ("0.weight" ...
for ReflectionPad2d, Conv2d, ReLU, Upsample). Matching works per section (`encoder.`, `decoder.`),
on modules rather than tensors (a module is its key without the last component: a conv's weight and
bias travel together):

1. the keys agree: done (release files always take this path);
2. else the modules are paired in order, each pair with the same tensor names and shapes;
3. else, when every module signature (tensor names and shapes) is unique on both sides, by signature
   (a notebook that defines all its deconvs before its norms); a repeated signature out of order is
   ambiguous and refused, with both sides listed.

Before matching, `clean_keys` removes the wrappers' path components (DataParallel/DDP `module.`,
torch.compile `_orig_mod.`) and maps other full-model dicts' prefixes onto ours; after it,
`decoder_from_file` reads a transposed-conv decoder's stage widths and norm affinity from the file
(notebooks vary both).

Pure functions on dicts of tensors; weights/load.py turns their ValueErrors into CheckpointErrors.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from pathlib import Path

import torch

from configs.schema import ModelConfig
from weights.checkpoint import IGNORED_PREFIXES

log = logging.getLogger(__name__)

# prefixes of other full-model dicts mapped onto ours
KEY_RENAMES = (("vit_encoder.", "encoder.model."), ("vgg_encoder.", "encoder.body."))
# a ViT's classifier head never touches the patch tokens (the encoder is built with num_classes=0)
UNUSED_PREFIXES = ("encoder.model.head.",)

Signature = tuple[tuple[str, tuple[int, ...]], ...]


def _modules(state: dict[str, torch.Tensor]) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """[(module key, {tensor name: tensor})] in the dict's order (a state dict's order is its
    modules')."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        module, _, name = key.rpartition(".")
        groups.setdefault(module, {})[name] = value
    return list(groups.items())


def _signature(tensors: dict[str, torch.Tensor]) -> Signature:
    return tuple(sorted((name, tuple(t.shape)) for name, t in tensors.items()))


def natural_order(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keys sorted with numbers compared as numbers ("layers.10" after "layers.9"): the order of a
    file format that does not keep the saving code's order (safetensors sorts its keys)."""

    def key(k: str):
        return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", k) if p]

    return {k: state[k] for k in sorted(state, key=key)}


def _listing(modules: list[tuple[str, dict[str, torch.Tensor]]]) -> str:
    rows = [
        f"{m} {{{', '.join(f'{n}: {tuple(t.shape)}' for n, t in sorted(ts.items()))}}}"
        for m, ts in modules
    ]
    return "; ".join(rows[:40]) + (f"; ... ({len(rows)} modules)" if len(rows) > 40 else "")


def match_section(
    file: dict[str, torch.Tensor], model: dict[str, torch.Tensor], what: str
) -> dict[str, torch.Tensor]:
    """`file`'s tensors under `model`'s keys (see the module docstring for the rules).

    Args:
        file, model: the tensors of one section (e.g. every `decoder.` key), each in its module
            order.
        what: the section, for the error message.

    Raises:
        ValueError: no unambiguous pairing; lists the modules of both sides.
    """
    if set(file) == set(model):
        return file
    ours, theirs = _modules(model), _modules(file)
    pairs = None
    if len(ours) == len(theirs) and all(
        _signature(a) == _signature(b) for (_, a), (_, b) in zip(ours, theirs)
    ):
        pairs = list(zip(ours, theirs))
    else:
        by_sig = {_signature(ts): (m, ts) for m, ts in theirs}
        counts = Counter(_signature(ts) for _, ts in ours)
        if (
            counts == Counter(_signature(ts) for _, ts in theirs)
            and max(counts.values(), default=0) == 1
        ):
            pairs = [((m, ts), by_sig[_signature(ts)]) for m, ts in ours]
    if pairs is None:
        raise ValueError(
            f"its {what} tensors match this model's neither by name nor by module order and "
            f"shapes. File: {_listing(theirs)}. Model: {_listing(ours)}"
        )
    out = {}
    for (module, tensors), (_, file_tensors) in pairs:
        for name in tensors:
            out[f"{module}.{name}" if module else name] = file_tensors[name]
    return out


def transposed_conv_arch(decoder: dict[str, torch.Tensor]) -> tuple[list[int], bool]:
    """The stage widths (coarse to fine) and norm affinity of a notebook-style transposed-conv
    decoder's tensors.

    Stages are the ConvTranspose2d(k=4) weights in order, (C_in, C_out, 4, 4), so their widths are
    shape[1]; modules holding only 1-D tensors are InstanceNorm affine parameters (one per stage, or
    none).

    Raises:
        ValueError: the tensors are not that decoder's (the message says what was found).
    """
    modules = _modules(decoder)
    widths = [
        ts["weight"].shape[1]
        for _, ts in modules
        if "weight" in ts and ts["weight"].dim() == 4 and tuple(ts["weight"].shape[2:]) == (4, 4)
    ]
    norms = [m for m, ts in modules if all(t.dim() == 1 for t in ts.values())]
    stats = [f"{m}.{n}" for m, ts in modules for n in ts if n.startswith("running_")]
    if stats:
        raise ValueError(
            f"its decoder norms track running statistics ({', '.join(stats[:4])}); this decoder's "
            "InstanceNorm uses each image's own statistics "
            "(track_running_stats=False), as the notebook's"
        )
    if not widths or len(norms) not in (0, len(widths)):
        raise ValueError(
            f"its decoder is not a transposed-conv decoder: {len(widths)} ConvTranspose2d(k=4) "
            f"weights and {len(norms)} norm modules (expected one norm per stage, or none). "
            f"Modules: {_listing(modules)}"
        )
    return widths, bool(norms)


def clean_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop `module.` / `_orig_mod.` path components anywhere, map foreign prefixes, drop loss
    networks."""
    out = {}
    for key, value in state.items():
        key = ".".join(part for part in key.split(".") if part not in ("module", "_orig_mod"))
        for old, new in KEY_RENAMES:
            if key.startswith(old):
                key = new + key[len(old) :]
        if not key.startswith(IGNORED_PREFIXES + UNUSED_PREFIXES):
            out[key] = value
    return out


def match_foreign(
    model: dict[str, torch.Tensor], state: dict[str, torch.Tensor], has_encoder: bool
) -> tuple[dict[str, torch.Tensor], str]:
    """Rename a foreign file's encoder/decoder tensors onto the keys of `model` (the network's state
    dict); (state, why not, for the error)."""
    out, notes = {k: v for k, v in state.items() if not k.startswith(("encoder.", "decoder."))}, []
    for section in ("encoder.", "decoder.") if has_encoder else ("decoder.",):
        ours = {k: v for k, v in model.items() if k.startswith(section)}
        theirs = {k: v for k, v in state.items() if k.startswith(section)}
        try:
            out.update(match_section(theirs, ours, section.rstrip(".")))
        except ValueError as err:
            out.update(theirs)
            notes.append(str(err))
    if not has_encoder:
        out.update({k: v for k, v in state.items() if k.startswith("encoder.")})
    return out, " ".join(notes)


def decoder_from_file(
    model_cfg: ModelConfig, state: dict[str, torch.Tensor], path: Path
) -> ModelConfig:
    """A transposed-conv decoder's widths and norm affinity as the file holds them (notebooks vary
    both); `path` only names the file in the log line. Raises ValueError (transposed_conv_arch)."""
    decoder = {k: v for k, v in state.items() if k.startswith("decoder.")}
    if model_cfg.decoder.kind != "transposed_conv" or not decoder:
        return model_cfg
    widths, affine = transposed_conv_arch(decoder)  # ValueError: not that decoder's tensors
    dec = model_cfg.decoder
    if (list(dec.widths), dec.norm_affine) != (widths, affine):
        log.info("%s: decoder widths %s, norm_affine=%s read from the file", path, widths, affine)
    return dataclasses.replace(
        model_cfg, decoder=dataclasses.replace(dec, widths=widths, norm_affine=affine)
    )
