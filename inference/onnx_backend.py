"""`infer.py --backend onnxruntime --checkpoint DIR`: an exported ONNX folder (python export.py
--out DIR) run by onnxruntime behind StyleTransferNet's interface, so the file loop, names, alpha,
style mixes, masks, colour preservation and tiling (inference/run.py, engine.py,
tiling.py) are the PyTorch path's own.

The graphs take the encoder, the decoder and the transform of a single style (style_stats.onnx,
transform.onnx); what they do not cover runs on the host with the repo's own functions: padding (the
JSON's rule, models/layers.py), mixing several styles' statistics, masks and tiling's whole-image
content statistics (models/transforms.py), and every step of a transform exported as host code
(wct). float32 on the CPU.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from configs.read import model_config_from_json
from configs.schema import ConfigError
from models.adain import Stats, blend, resize_masks
from models.layers import pad_to_multiple
from models.registry import TRANSFORMS
from models.transfer import Transform, transfer
from weights.checkpoint import ONNX_META, CheckpointError
from weights.onnx_export import FORMAT, FORMAT_VERSION


def read_meta(folder: str | Path) -> dict:
    """ONNX_META of an export folder, checked: this format and version, and every file it names
    present.
    """
    folder = Path(folder)
    path = folder / ONNX_META
    if not path.is_file():
        raise CheckpointError(
            f"--backend onnxruntime: {folder} holds no {ONNX_META}; write the folder with "
            "python export.py --checkpoint X --out DIR"
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err})") from None
    except RecursionError:  # json recurses once per bracket
        raise CheckpointError(
            f"{path} is nested too deeply to be export.py's JSON; export the folder again"
        ) from None
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is format {meta.get('format')!r} version {meta.get('format_version')!r}; "
            f"this code reads {FORMAT} version {FORMAT_VERSION}: export it again with this "
            "repo's export.py"
        )
    files = [*meta["files"].values(), *(meta["transform"].get("files") or {}).values()]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise CheckpointError(
            f"{folder} lacks {', '.join(missing)} named by its {ONNX_META}; export it again"
        )
    return meta


class OnnxNet(nn.Module):
    """StyleTransferNet's inference interface (pad, encode, style_stats, transform,
    stylize_features,
    decode)
    over onnxruntime sessions; tensors cross to numpy at the graph boundaries. No parameters."""

    def __init__(self, folder: str | Path, threads: int = 0):
        super().__init__()
        import onnxruntime as ort

        self.folder, self.meta = Path(folder), read_meta(folder)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or torch.get_num_threads()
        files = {**self.meta["files"], **(self.meta["transform"].get("files") or {})}
        self.sessions = {
            k: ort.InferenceSession(
                str(self.folder / f), options, providers=["CPUExecutionProvider"]
            )
            for k, f in files.items()
        }
        self.stride, self.transform_name = int(self.meta["stride"]), self.meta["transform"]["name"]
        self.graph = bool(self.meta["transform"]["graph"])
        try:  # the exported network's config (demo and statistics files read its encoder)
            self.cfg = model_config_from_json(json.dumps(self.meta["model_config"]))
        except (ConfigError, ValueError) as err:
            raise CheckpointError(
                f"{self.folder / ONNX_META}: unusable model_config ({err})"
            ) from None

    @property
    def transform(self) -> Transform:
        return TRANSFORMS[self.transform_name]

    def set_transform(self, name: str) -> None:
        if name != self.transform_name:
            raise CheckpointError(
                f"--transform {name}: {self.folder} was exported with {self.transform_name}; "
                f"export again with python export.py --transform {name}"
            )

    def _run(self, key: str, **inputs: torch.Tensor) -> list[torch.Tensor]:
        feeds = {k: v.detach().float().cpu().contiguous().numpy() for k, v in inputs.items()}
        return [
            torch.from_numpy(np.ascontiguousarray(o)) for o in self.sessions[key].run(None, feeds)
        ]

    def pad(self, images: torch.Tensor) -> torch.Tensor:
        rule = self.meta["pad"]
        return pad_to_multiple(images, rule["multiple"], minimum=rule["minimum"])

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self._run("encoder", image=self.pad(images))[0]

    def decode(self, feat: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        images = self._run("decoder", features=feat)[0]
        return images if size is None else images[..., : size[0], : size[1]]

    def style_stats(self, style_feat: torch.Tensor) -> Stats:
        if not self.graph:
            return self.transform.stats(style_feat)
        return tuple(self._run("style_stats", features=style_feat))

    def stylize_features(
        self,
        content_feat: torch.Tensor,
        styles: Sequence[Stats],
        *,
        size: tuple[int, int] | None = None,
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: torch.Tensor | None = None,
        content_stats: Sequence[Stats] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As StyleTransferNet.stylize_features: the graph for one (mixed) style, the host for the
        rest.
        """
        if self.graph and masks is None and content_stats is None:
            style = styles[0] if len(styles) == 1 else self.transform.mix(styles, style_weights)
            names = self.meta["transform"]["stats"]
            target = self._run(
                "transform",
                features=content_feat,
                alpha=torch.tensor(float(alpha)),
                **dict(zip(names, style)),
            )[0]
        else:
            if masks is not None:
                masks = resize_masks(masks.cpu(), content_feat.shape[-2:])
            target = blend(
                content_feat.float(),
                transfer(
                    self.transform,
                    content_feat.float(),
                    styles,
                    style_weights,
                    masks,
                    content_stats,
                ),
                alpha,
            )
        return self.decode(target, size), target
