"""OUT/grid.png (--grid): contents down the left, one column per (style entry, alpha), the style
images on top; a mix column's header shows its styles as vertical strips, statistics files (no
picture) a grey square. Outputs are kept as GRID_CELL thumbnails while the run goes, not in full.
"""

from __future__ import annotations

import torch

from inference.jobs import Plan
from media.grid import stylization_grid
from media.images import load_image, save_image
from media.resize import resize, resize_short

GRID_CELL = 128


def thumb(image: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> short side GRID_CELL (kept in memory for the grid instead of the full
    output)."""
    return resize_short(image[None], min(GRID_CELL, *image.shape[-2:]))[0].clone()


def _strips(images: list[torch.Tensor]) -> torch.Tensor:
    """Several styles side by side as vertical strips of one square cell (the header of a mix
    column)."""
    cells = [resize(im[None], (GRID_CELL, GRID_CELL))[0] for im in images]
    bounds = [round(k * GRID_CELL / len(cells)) for k in range(len(cells) + 1)]
    return torch.cat([c[..., a:b] for c, (a, b) in zip(cells, zip(bounds, bounds[1:]))], dim=-1)


def sheet_rows(plan: Plan, thumbs: dict) -> list[int]:
    """The contents every (entry, alpha) column was written for in this run: the sheet's rows."""
    columns = [(e, a) for e in plan.entries for a in plan.alphas]
    return [
        i
        for i in range(len(plan.contents))
        if all((i, plan.output_path(i, e, a)) in thumbs for e, a in columns)
    ]


def write_sheet(plan: Plan, styles: dict, thumbs: dict, rows: list[int]) -> str:
    """Write plan.grid from `thumbs` {(content index, output path): thumbnail} for the contents
    `rows` (sheet_rows); returns its path."""
    columns = [(e, a) for e in plan.entries for a in plan.alphas]
    contents = [thumb(load_image(plan.contents[i], GRID_CELL)) for i in rows]
    grey = torch.full((3, 8, 8), 0.5)  # statistics have no picture
    tops = [
        _strips([grey if isinstance(styles[k], tuple) else styles[k][0] for k in e.styles])
        for e, _ in columns
    ]
    outputs = [[thumbs[i, plan.output_path(i, e, a)] for e, a in columns] for i in rows]
    save_image(stylization_grid(contents, tops, outputs, cell=GRID_CELL), plan.grid)
    return str(plan.grid)
