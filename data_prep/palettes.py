"""The five-colour palettes of data_prep.painterly's paintings; which are held out for val."""

from __future__ import annotations

import numpy as np

# Five colours each, after well-known paintings; the last three are never drawn for training, so
# validation styles have unseen colours as well as unseen seeds.
PALETTES = {
    "starry_night": ("0b1e4f", "1f4e9c", "5b8bd0", "f2d94e", "e8a93a"),
    "sunflowers": ("e8b027", "d07a1b", "8a5a1f", "5c7f3a", "f4e3a1"),
    "water_lilies": ("5a7d9a", "8fb3a8", "c3d7a4", "d9a3b5", "3e5c4a"),
    "great_wave": ("1d3557", "457b9d", "a8dadc", "f1faee", "d9c8a9"),
    "klimt": ("c9a227", "8c6d1f", "2f2a1d", "b33c2e", "e9d8a6"),
    "rothko": ("7d1f1a", "c0392b", "e67e22", "3b0d0c", "f5b041"),
    "matisse": ("e63946", "2a9d8f", "f4a261", "264653", "e9c46a"),
    "rousseau": ("1b4332", "2d6a4f", "52b788", "d8f3dc", "e76f51"),
    "braque": ("6b4f3a", "a67c52", "d9c5a0", "4a4a48", "8c8c7a"),
    "kandinsky": ("ffbe0b", "fb5607", "ff006e", "8338ec", "3a86ff"),
    "blue_period": ("0d1b2a", "1b263b", "415a77", "778da9", "e0e1dd"),
    "autumn": ("5f0f40", "9a031e", "fb8b24", "e36414", "0f4c5c"),
    "pastel": ("f6bd60", "f7ede2", "f5cac3", "84a59d", "f28482"),
}
VAL_PALETTES = ("kandinsky", "autumn", "pastel")
TRAIN_PALETTES = tuple(p for p in PALETTES if p not in VAL_PALETTES)


def palette_array(name: str) -> np.ndarray:
    """(5, 3) float RGB in [0, 255], darkest first (ink and paper pick from the ends)."""
    rgb = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in PALETTES[name]], float)
    return rgb[np.argsort(rgb @ [0.299, 0.587, 0.114])]
