"""Figure sheets: a content x style grid of stylized images with the inputs on its edges (pure \
tensor function)."""

from __future__ import annotations

import torch

from media.resize import fit_square


def stylization_grid(
    contents: list[torch.Tensor] | torch.Tensor,
    styles: list[torch.Tensor] | torch.Tensor,
    outputs: list[list[torch.Tensor]],
    cell: int = 128,
    pad: int = 2,
) -> torch.Tensor:
    """A (3, H, W) sheet: the top row shows the styles, the left column the contents, cell (i, j)
    the output.

    Args:
        contents: N content images, each (3, h, w) of any size (or one (N, 3, h, w) tensor).
        styles: M style images, each (3, h, w).
        outputs: outputs[i][j] is content i stylized with style j, (3, h, w).
        cell: side of each square cell; images are short-side resized and center cropped.
        pad: white gap between cells.
    """
    n, m = len(contents), len(styles)
    if len(outputs) != n or any(len(row) != m for row in outputs):
        raise ValueError(f"outputs must be a {n} x {m} nested list (contents x styles)")
    step = cell + pad
    sheet = torch.ones(3, (n + 1) * step + pad, (m + 1) * step + pad)

    def put(image: torch.Tensor, row: int, col: int) -> None:
        tile = fit_square(image.detach().cpu().unsqueeze(0), cell)[0]
        sheet[
            :,
            pad + row * step : pad + row * step + cell,
            pad + col * step : pad + col * step + cell,
        ] = tile

    for j, style in enumerate(styles):
        put(style, 0, j + 1)
    for i, content in enumerate(contents):
        put(content, i + 1, 0)
        for j in range(m):
            put(outputs[i][j], i + 1, j + 1)
    return sheet
