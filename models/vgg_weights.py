"""VGG weight files of every layout -> the state dict of models/vgg.py's torchvision-shaped body.

torchvision's vgg19/vgg16 (its `features`, or the whole network), HED's VGG16 (`hed`,
models/hed.py, already converted to torchvision keys) and pytorch-AdaIN's released
`vgg_normalised.pth` (a Sequential of a 1x1 input conv, reflection padding and ceil-mode pools),
whose input conv is folded into conv1_1 here, so the network never needs an extra layer.
"""

from __future__ import annotations

import torch

from models.config import HED_SOURCE
from models.hed import hed_state
from models.pretrained import PretrainedWeightsError, load_torchvision_weights, read_state_dict

# torchvision's VGG19_Weights.IMAGENET1K_V1: its published file, read by URL and file name, so a VGG
# run never imports torchvision (which imports every model, torchvision.ops and torch._dynamo)
VGG19_IMAGENET_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG16_IMAGENET_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
IMAGENET_URLS = {"vgg16": VGG16_IMAGENET_URL, "vgg19": VGG19_IMAGENET_URL}
# torchvision's features indices of the 16 convs (blocks of 2, 2, 4, 4, 4 convs, a pool after each)
_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def fold_vgg_normalised(
    state: dict[str, torch.Tensor], path: str = "the weights file"
) -> dict[str, torch.Tensor]:
    """pytorch-AdaIN's vgg_normalised state dict -> torchvision `features` keys, its 1x1 input conv
    folded.

    The release's Sequential is conv1x1(3->3), then [ReflectionPad2d(1), Conv2d 3x3, ReLU] per conv
    and a ceil-mode max-pool per block; its convs sit at Sequential indices 0, 2, 5, 9, 12, ... and
    are taken in that order. conv1_1(pad(A x + b0)) = conv1_1'(pad(x)) with W' = W A and b' = b +
    sum W b0, because reflection padding copies pixels and so commutes with a per-pixel affine map
    (exact, computed in float64; with zero padding the borders would differ, so the layout requires
    padding=reflect).
    """
    convs = sorted(
        (int(k.split(".")[0]), k.rsplit(".", 1)[0])
        for k, v in state.items()
        if k.endswith("weight") and v.dim() == 4 and k.split(".")[0].isdigit()
    )
    prefixes = [prefix for _, prefix in convs]
    if not prefixes or tuple(state[f"{prefixes[0]}.weight"].shape) != (3, 3, 1, 1):
        first = (
            f"{prefixes[0]}.weight {tuple(state[prefixes[0] + '.weight'].shape)}"
            if prefixes
            else "no conv"
        )
        raise PretrainedWeightsError(
            f"{path} is not pytorch-AdaIN's vgg_normalised layout: its first conv should be the "
            f"(3, 3, 1, 1) input conv at key 0.weight, found {first}; torchvision vgg19 weights "
            f"need weights_layout=torchvision"
        )
    a, b0 = (
        state[f"{prefixes[0]}.weight"].double()[:, :, 0, 0],
        state[f"{prefixes[0]}.bias"].double(),
    )
    out = {}
    for prefix, index in zip(prefixes[1:], _CONV_INDICES):
        weight, bias = state[f"{prefix}.weight"], state[f"{prefix}.bias"]
        if index == 0:  # conv1_1 absorbs the input conv
            w64 = weight.double()
            bias = (bias.double() + torch.einsum("ojhw,j->o", w64, b0)).to(bias.dtype)
            weight = torch.einsum("ojhw,ji->oihw", w64, a).to(weight.dtype)
        out[f"{index}.weight"], out[f"{index}.bias"] = weight, bias
    return out


def torchvision_features(
    state: dict[str, torch.Tensor], path: str = "the weights file"
) -> dict[str, torch.Tensor]:
    """A torchvision vgg19 state dict (or one of its `features`) -> the `features` keys without
    prefix."""
    if any(k.startswith("features.") for k in state):
        return {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    first = state.get("0.weight")
    if first is not None and tuple(first.shape) == (3, 3, 1, 1):
        raise PretrainedWeightsError(
            f"{path} is pytorch-AdaIN's vgg_normalised layout (a 1x1 input conv at 0.weight), not "
            "torchvision's vgg19: read it with model.encoder.weights_layout=vgg_normalised (and "
            "model.encoder.padding=reflect)"
        )
    return {k: v for k, v in state.items() if not k.startswith("classifier.")}


# how a file of each model.encoder.weights_layout is read (a caffe-layout file is converted to
# torchvision's keys when it is written: models/hed.py)
VGG_READERS = {
    "torchvision": torchvision_features,
    "vgg_normalised": fold_vgg_normalised,
    "caffe": torchvision_features,
}


def vgg_state(
    arch: str, layout: str, pretrained: bool, weights_file: str
) -> dict[str, torch.Tensor] | None:
    """The `features` state dict a VGG (`arch`: vgg16 / vgg19) of this layout loads: HED's for
    `weights_file=hed`, else from `weights_file`, torchvision's ImageNet file when `pretrained`, or
    None (random weights)."""
    if str(weights_file) == HED_SOURCE:
        if arch != "vgg16":
            raise PretrainedWeightsError(
                f"the hed weights are a VGG16's, not a {arch}'s: use the vgg16 network "
                "(model.encoder.kind=vgg16, loss.loss_net=vgg16, --feature-net vgg16)"
            )
        return hed_state()
    if weights_file:
        return VGG_READERS[layout](read_state_dict(weights_file), str(weights_file))
    if not pretrained:
        return None
    if layout != "torchvision":
        raise PretrainedWeightsError(
            f"no library download exists for the {layout} {arch} weights; give "
            "the file (model.encoder.weights_file / --weights PATH)"
        )
    return torchvision_features(load_torchvision_weights(IMAGENET_URLS[arch], arch.upper()))


def require_keys(
    state: dict, needed: list[str], path: str, layout: str, arch: str = "vgg19"
) -> dict:
    """`state` if it holds every key of the truncated network, else a one-line error."""
    missing = [k for k in needed if k not in state]
    if missing:
        raise PretrainedWeightsError(
            f"weights file {path} lacks {arch} keys {missing[:6]} (read as the {layout} layout); "
            f"expected torchvision {arch} names, or pytorch-AdaIN's vgg_normalised with "
            "weights_layout=vgg_normalised"
        )
    return state
