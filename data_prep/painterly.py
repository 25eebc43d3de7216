"""Procedural painterly style images (numpy + scipy): brush strokes, mosaic, ink, pointillism, ...

Offline there is no WikiArt, so data_prep.offline trains on these. Each kind paints from a seed and
a five-colour palette, with strong colours and a texture (strokes, tiles, dots, hatching) of about
5-30 px at a 256 px short side; every size below is in those pixels and scales with the image, so
a small test build is the same picture, smaller. Deterministic: the same (kind, size, seed, palette)
gives the same array for a given numpy and scipy.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from data_prep.palettes import palette_array

Painter = Callable[[int, int, np.random.Generator, np.ndarray], np.ndarray]
KINDS: dict[str, Painter] = {}


def painter(name: str) -> Callable[[Painter], Painter]:
    """Register a painting kind under `name` (the file names and manifest sources use it)."""
    return lambda fn: KINDS.setdefault(name, fn)


def paint(kind: str, h: int, w: int, seed: int, palette: str) -> np.ndarray:
    """(h, w, 3) uint8 painting of `kind`; the generator is seeded by (kind, seed, palette)."""
    key = zlib.crc32(f"{kind}:{palette}".encode())  # crc32, not hash(): str hashes vary per process
    rng = np.random.default_rng([seed, key])
    img = KINDS[kind](h, w, rng, palette_array(palette))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _field(h: int, w: int, rng: np.random.Generator, cell: float) -> np.ndarray:
    """Smooth value noise in [0, 1] whose blobs are about `cell` px across."""
    gh, gw = int(np.ceil(h / cell)) + 3, int(np.ceil(w / cell)) + 3
    up = ndimage.zoom(rng.random((gh, gw)), cell, order=3)  # >= h + 3 cell rows
    off = int(cell)  # skip the border, where the spline flattens out
    f = up[off : off + h, off : off + w]
    return (f - f.min()) / (np.ptp(f) + 1e-9)


def _seeds(h: int, w: int, rng: np.random.Generator, spacing: float, jitter: float) -> np.ndarray:
    """(n, 2) jittered-grid points (y, x) covering the image plus a margin of one cell."""
    ys = np.arange(-spacing, h + spacing, spacing)
    xs = np.arange(-spacing, w + spacing, spacing)
    p = np.stack(np.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)
    return p + rng.uniform(-jitter, jitter, p.shape) * spacing


def _pixel(pts: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer (y, x) of points, clipped into the image (seeds lie up to a cell outside)."""
    return np.clip(pts[:, 0].astype(int), 0, h - 1), np.clip(pts[:, 1].astype(int), 0, w - 1)


def _paper(h: int, w: int, rng: np.random.Generator, tone: np.ndarray, u: float) -> np.ndarray:
    """Paper or canvas of colour `tone` with fibre grain (fine noise, +-4%)."""
    grain = 0.96 + 0.08 * _field(h, w, rng, 2 * u)
    return tone * grain[..., None]


def _voronoi(h, w, rng, spacing, jitter, p=2.0):
    """Cell index, distance to the cell's edge (px) and the seed points of a jittered Voronoi."""
    pts = _seeds(h, w, rng, spacing, jitter)
    y, x = np.mgrid[0:h, 0:w].astype(float)
    q = np.stack([y.ravel(), x.ravel()], -1)
    d, i = cKDTree(pts).query(q, k=2, p=p)
    if p == 2.0:  # exact distance to the bisector of the two nearest seeds
        gap = np.linalg.norm(pts[i[:, 0]] - pts[i[:, 1]], axis=1)
        edge = (d[:, 1] ** 2 - d[:, 0] ** 2) / (2 * gap + 1e-9)
    else:  # Chebyshev cells are squares: half the distance difference is close enough
        edge = (d[:, 1] - d[:, 0]) / 2
    return i[:, 0].reshape(h, w), edge.reshape(h, w), pts


def _regions(field: np.ndarray, rng: np.random.Generator, n: int = 5) -> np.ndarray:
    """Field quantised into n regions of random shares (Dirichlet), so every colour appears."""
    cuts = np.quantile(field, np.cumsum(rng.dirichlet(np.full(n, 2.0)))[:-1])
    return np.searchsorted(cuts, field)


def _soft(d: np.ndarray, width: float) -> np.ndarray:
    """1 where d < 0, 0 where d > width, linear in between (antialiased edges)."""
    return np.clip(1 - d / width, 0, 1)


@painter("brush")
def brush(h, w, rng, pal):
    """Impasto: overlapping strokes (12-36 x 4-9 px) with bristle streaks, following a swirling or
    a near-parallel flow field; colours by region, a few strokes from elsewhere in the palette."""
    u = min(h, w) / 256
    idx = _regions(_field(h, w, rng, 70 * u), rng)
    img = ndimage.uniform_filter(pal[idx], (9 * u, 9 * u, 0))  # underpainting, gaps show it
    if rng.random() < 0.5:
        angle = _field(h, w, rng, 110 * u) * 3 * np.pi  # van Gogh swirls
    else:
        angle = rng.uniform(0, np.pi) + 0.5 * _field(h, w, rng, 90 * u)  # Monet hatching
    n = int(2.2 * h * w / (24 * 6.5 * u * u))
    cy, cx = rng.uniform(0, h, n), rng.uniform(0, w, n)
    half_l, half_w = rng.uniform(6, 18, n) * u, rng.uniform(2, 4.5, n) * u
    iy, ix = cy.astype(int), cx.astype(int)
    colour = pal[np.where(rng.random(n) < 0.15, rng.integers(0, 5, n), idx[iy, ix])]
    colour += rng.normal(0, 12, (n, 3))
    freq, phase = rng.uniform(0.25, 0.45, n) * 2 * np.pi / u, rng.uniform(0, 2 * np.pi, n)
    for k in range(n):
        th, r = angle[iy[k], ix[k]], int(half_l[k]) + 2
        y0, y1 = max(iy[k] - r, 0), min(iy[k] + r + 1, h)
        x0, x1 = max(ix[k] - r, 0), min(ix[k] + r + 1, w)
        dy, dx = np.ogrid[y0:y1, x0:x1]
        dy, dx = dy - cy[k], dx - cx[k]
        along = dx * np.cos(th) + dy * np.sin(th)
        across = dy * np.cos(th) - dx * np.sin(th)
        # a capsule (round ends), its paint thinning towards the end of the stroke
        dist = np.hypot(np.maximum(np.abs(along) - half_l[k] + half_w[k], 0), across) - half_w[k]
        alpha = _soft(dist, 1.5 * u) * (1 - 0.4 * np.clip(along / half_l[k], 0, 1) ** 2)
        # bristles: streaks along the stroke, a function of the across coordinate only
        wave = freq[k] * across + phase[k]
        shade = 1 + 0.1 * np.sin(wave) + 0.06 * np.sin(2.3 * wave)
        patch = img[y0:y1, x0:x1]
        patch += (0.92 * alpha)[..., None] * (colour[k] * shade[..., None] - patch)
    return img


@painter("mosaic")
def mosaic(h, w, rng, pal):
    """Square tesserae (~11 px, a Chebyshev Voronoi of a jittered grid) laid out as a picture of
    palette regions, each tile bevelled and slightly off-colour, in pale grout 2-3 px wide."""
    u = min(h, w) / 256
    cell, edge, pts = _voronoi(h, w, rng, 11 * u, 0.2, p=np.inf)
    idx = _regions(_field(h, w, rng, 55 * u), rng)
    n = len(pts)
    tile = pal[idx[_pixel(pts, h, w)]] + rng.normal(0, 10, (n, 3))
    tile *= rng.uniform(0.85, 1.1, (n, 1))
    shade = (0.8 + 0.2 * np.clip(edge / (3 * u), 0, 1)) * (0.94 + 0.12 * _field(h, w, rng, 2 * u))
    grout = _soft(edge - 1.0 * u, 0.7 * u)[..., None]
    return (
        tile[cell] * shade[..., None] * (1 - grout)
        + _paper(h, w, rng, np.array([205.0, 198, 182]), u) * grout
    )


@painter("ink")
def ink(h, w, rng, pal):
    """Ink on paper: a wash with darker drying rims and granulation, and pen hatching whose density
    follows a tone field (cross-hatched where darkest). Ink: the darkest palette colour x 0.25."""
    u = min(h, w) / 256
    paper = _paper(h, w, rng, 0.75 * np.array([243.0, 236, 217]) + 0.25 * pal[4], u)
    y, x = np.mgrid[0:h, 0:w].astype(float)
    f = 0.75 * _field(h, w, rng, 70 * u) + 0.25 * _field(h, w, rng, 18 * u)
    t = rng.uniform(0.45, 0.6)
    z = (f - t) / 0.03  # the wash's edge at z = 0; pigment dries into a rim just inside it
    wash = np.clip(z, 0, 1) * (0.2 + 0.5 * (f - t) / (1 - t) + 0.45 * np.exp(-(z**2)))
    wash *= 0.75 + 0.5 * _field(h, w, rng, 3 * u)
    tone = _field(h, w, rng, 45 * u)
    wobble = 6 * u * _field(h, w, rng, 30 * u)
    a0, spacing = rng.uniform(0, np.pi), rng.uniform(5, 7) * u
    hatch = np.zeros((h, w))
    for lo, th in ((0.4, a0), (0.62, a0 + np.pi / 2.3), (0.82, a0 + np.pi / 4.6)):
        d = (x * np.cos(th) + y * np.sin(th) + wobble) / spacing
        line = _soft(np.abs(d - np.round(d)) * spacing - 0.4 * u, 0.7 * u)
        pen = _field(h, w, rng, 7 * u) > 0.3  # the pen lifts: lines break into strokes
        hatch = np.maximum(hatch, line * pen * np.clip((tone - lo) / 0.04, 0, 1))
    dark = 1 - (1 - np.clip(wash, 0, 1)) * (1 - 0.9 * hatch)
    return paper * (1 - dark[..., None]) + 0.25 * pal[0] * dark[..., None]


@painter("pointillism")
def pointillism(h, w, rng, pal):
    """Seurat: three layers of dots (radius 2-3 px, ~6 px apart) on a light ground; each dot takes
    its region's colour or, one in three, a neighbouring palette colour (optical mixing)."""
    u = min(h, w) / 256
    img = _paper(h, w, rng, 0.5 * pal[4] + 127.5, u)
    idx = _regions(_field(h, w, rng, 55 * u), rng)
    y, x = np.mgrid[0:h, 0:w].astype(float)
    q = np.stack([y.ravel(), x.ravel()], -1)
    for _ in range(3):
        pts = _seeds(h, w, rng, 6 * u, 0.5)
        n = len(pts)
        d, i = cKDTree(pts).query(q)
        ci = np.clip(
            idx[_pixel(pts, h, w)] + np.where(rng.random(n) < 0.33, rng.choice([-1, 1], n), 0), 0, 4
        )
        col = pal[ci] * rng.uniform(0.85, 1.15, (n, 1))
        alpha = _soft(d - rng.uniform(2.0, 3.2, n)[i] * u, 0.8 * u).reshape(h, w, 1)
        img += alpha * (col[i].reshape(h, w, 3) - img)
    return img


@painter("stained_glass")
def stained_glass(h, w, rng, pal):
    """Glass panes (Voronoi cells ~34 px) in saturated palette colours, mottled and lit from
    behind unevenly, joined by black leading ~4 px wide and crossed by horizontal saddle bars."""
    u = min(h, w) / 256
    cell, edge, pts = _voronoi(h, w, rng, 34 * u, 0.45)
    base = pal[rng.integers(0, 5, len(pts))]
    grey = base.mean(1, keepdims=True)
    jewel = np.clip(grey + 1.5 * (base - grey), 0, 255)
    light = 0.55 + 0.6 * _field(h, w, rng, 120 * u)  # the sky behind, unevenly bright
    light *= (0.72 + 0.28 * np.clip(edge / (10 * u), 0, 1)) * (
        0.86 + 0.28 * _field(h, w, rng, 5 * u)
    )
    y, _ = np.mgrid[0:h, 0:w].astype(float)
    period = rng.uniform(90, 130) * u
    bar = np.abs((y - rng.uniform(0, period)) % period - period / 2) - period / 2 + 2.5 * u
    lead = np.maximum(_soft(edge - 1.7 * u, 0.7 * u), _soft(-bar, 0.7 * u))[..., None]
    return jewel[cell] * light[..., None] * (1 - lead) + 22 * lead


@painter("cubist")
def cubist(h, w, rng, pal):
    """Analytic cubism: the plane cut by 10-15 lines into facets, each a palette colour with its
    own tonal gradient, shadows cast along some cuts, dark outlines and a canvas grain."""
    u = min(h, w) / 256
    y, x = np.mgrid[0:h, 0:w].astype(float)
    code = np.zeros((h, w), np.int64)
    shadow = np.ones((h, w))
    for k in range(rng.integers(10, 16)):
        th = rng.uniform(0, np.pi)
        sd = (x - rng.uniform(0, w)) * np.cos(th) + (y - rng.uniform(0, h)) * np.sin(th)
        code = code * 2 + (sd > 0)
        if k % 2:
            shadow *= 1 - 0.35 * np.exp(-np.abs(sd) / (12 * u)) * (sd > 0)
    _, lab = np.unique(code, return_inverse=True)
    lab = lab.reshape(h, w)
    m = lab.max() + 1
    col = pal[rng.choice(5, m, p=rng.dirichlet(np.full(5, 1.5)))] * rng.uniform(0.8, 1.1, (m, 1))
    g = rng.uniform(0, 2 * np.pi, m)
    shade = 0.82 + 0.22 * np.sin((x * np.cos(g[lab]) + y * np.sin(g[lab])) / (70 * u) + 3 * g[lab])
    edges = (np.diff(lab, axis=0, prepend=lab[:1]) != 0) | (np.diff(lab, 1, 1, lab[:, :1]) != 0)
    edges = ndimage.binary_dilation(edges, iterations=max(1, round(u)))
    grain = 0.93 + 0.14 * _field(h, w, rng, 2.5 * u)
    light = shade * shadow * grain * np.where(edges, 0.3, 1.0)
    return col[lab] * light[..., None]


@painter("watercolour")
def watercolour(h, w, rng, pal):
    """Transparent washes (radius 35-100 px) glazed over each other on white paper: wobbly edges,
    pigment pooled in a darker rim as it dries, granulation; a third wet-in-wet, edges soft."""
    u = min(h, w) / 256
    img = _paper(h, w, rng, np.array([250.0, 247, 240]), u)
    gran = 0.75 + 0.5 * _field(h, w, rng, 2.5 * u)
    for _ in range(rng.integers(10, 16)):
        r = rng.uniform(35, 100) * u
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        y0, y1 = max(int(cy - 1.5 * r), 0), min(int(cy + 1.5 * r) + 1, h)
        x0, x1 = max(int(cx - 1.5 * r), 0), min(int(cx + 1.5 * r) + 1, w)
        dy, dx = np.ogrid[y0:y1, x0:x1]
        wobble = _field(y1 - y0, x1 - x0, rng, 30 * u) - 0.5
        level = np.hypot(dy - cy, dx - cx) / r + 0.5 * wobble
        if rng.random() < 0.33:
            dens = np.clip((1 - level) / 0.4, 0, 1) * rng.uniform(0.35, 0.6)
        else:
            inside = np.clip((1 - level) / 0.02, 0, 1)
            dens = inside * (rng.uniform(0.25, 0.5) + 0.4 * np.exp(-(((1 - level) / 0.05) ** 2)))
        c = pal[rng.integers(0, 5)] / 255
        dens = np.clip(dens * gran[y0:y1, x0:x1], 0, 1)[..., None]
        img[y0:y1, x0:x1] *= 1 - dens * (1 - c)
    return img


@painter("woodcut")
def woodcut(h, w, rng, pal):
    """Relief print: flat colour blocks with wood grain printed off register, under a black key
    block of carved contour lines (3-10 px apart) that thicken where the tone is dark."""
    u = min(h, w) / 256
    img = _paper(h, w, rng, np.array([240.0, 232, 212]), u)
    y, _ = np.mgrid[0:h, 0:w].astype(float)
    block = _regions(_field(h, w, rng, 80 * u), rng, 3)
    colours = pal[rng.choice(5, 3, replace=False)] / 255
    grain = 0.8 + 0.2 * np.sin((y + 8 * u * _field(h, w, rng, 40 * u)) / (1.3 * u))
    colour = colours[block] * grain[..., None] + (1 - grain[..., None])
    off = int(3 * u)  # off register: the colour block lands a few px down and right
    img *= np.pad(colour, ((off, 0), (off, 0), (0, 0)), mode="edge")[:h, :w]
    height = _field(h, w, rng, 70 * u) + 0.2 * _field(h, w, rng, 20 * u)
    s = height * rng.uniform(11, 16)
    width = 0.12 + 0.5 * _field(h, w, rng, 60 * u) + 0.08 * _field(h, w, rng, 1.5 * u)
    key = np.clip((width / 2 - np.abs(s - np.round(s))) / 0.04, 0, 1)[..., None]
    return img * (1 - key) + 20 * key
