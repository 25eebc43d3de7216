"""What the compared runs were: the config keys that differ, and the tags those redefine.

Two runs that both log `loss/style`, one with the Gram and one with the mean/std style loss, log
values about 10x apart under one name: overlaid on one axis they look like a result. Each run folder
holds the resolved `config.yaml` train.py wrote; the keys that differ are listed, and a tag whose
definition depends on a differing key is marked wherever it is shown (summary table, notes, plots).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from configs.schema import dotted

CONFIG_FILE = "config.yaml"

# tag prefix -> the config key prefixes its definition depends on (first match wins). The
# loss network and any plugin (which may register a style loss under an existing name) define
# every loss term.
_LOSS_NET = ("loss.loss_net_", "plugins")
DEFINED_BY: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "loss/style",
        ("loss.style_loss", "loss.style_layers", "loss.style_layer_weights", *_LOSS_NET),
    ),
    ("loss/content", ("loss.content_layers", "loss.content_target", *_LOSS_NET)),
    ("loss/tv", ()),  # a function of the output image alone
    ("loss/total", ("loss.", "plugins")),  # the weighted sum: every loss key
    ("loss/", ("loss.", "plugins")),  # a term this table does not know: any loss key may define it
)


def read_run_config(run_dir: Path) -> dict[str, object] | None:
    """The run's config.yaml as dotted keys; None when there is none or it does not parse."""
    try:
        data = yaml.safe_load((Path(run_dir) / CONFIG_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return dotted(data) if isinstance(data, dict) else None


def differing_keys(configs: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """{key: {run: value}} for every key whose value differs between runs (`name` left out)."""
    keys = sorted({k for cfg in configs.values() for k in cfg} - {"name"})
    out = {}
    for key in keys:
        values = {run: cfg.get(key, "<unset>") for run, cfg in configs.items()}
        if len(set(map(repr, values.values()))) > 1:
            out[key] = values
    return out


def definers(tag: str) -> tuple[str, ...] | None:
    """The config key prefixes defining `tag`; None where no key redefines it (lr, throughput)."""
    return next((keys for prefix, keys in DEFINED_BY if tag.startswith(prefix)), None)


def redefined_by(tag: str, differing: dict[str, dict[str, object]]) -> list[str]:
    """The differing keys that change what `tag` measures (empty: the values are comparable)."""
    keys = definers(tag) or ()
    return [k for k in differing if any(k.startswith(p) for p in keys)]


def describe(key: str, values: dict[str, object]) -> str:
    """`loss.style_loss (A: gram, B: mean_std)`."""
    shown = ", ".join(f"{run}: {_short(v)}" for run, v in values.items())
    return f"{key} ({shown})"


def _short(value: object) -> str:
    text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
