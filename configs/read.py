"""Reading configs: YAML files and `key=value` command-line overrides -> the typed dataclasses, \
strictly.

Unknown keys are refused with the valid ones listed, so a typo never silently trains the default;
values are converted by their field's annotated type (configs/schema.py) and the result is validated
(configs/validate.py) before it is returned.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import yaml

from configs.coerce import from_dict
from configs.schema import Config, ConfigError, ModelConfig
from configs.suggest import did_you_mean, did_you_mean_path
from configs.validate import check_model, check_typed


def apply_overrides(cfg, overrides: list[str]):
    """Return a copy of `cfg` with `a.b.c=value` overrides applied.

    A value stays the string that was typed and is parsed by its field's type, so
    `train.mixed_precision=no` is "no", not YAML's False; only a whole section
    (`model.encoder={kind: vit}`) is read as YAML.
    """
    data = dataclasses.asdict(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not key=value (e.g. train.steps=100)")
        key, raw = item.split("=", 1)
        node, tp, parts = data, type(cfg), key.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(parts[:i]) or "the top level"
                names = sorted(node) if isinstance(node, dict) else []
                hint = did_you_mean(
                    ".".join(parts[: i + 1]), [".".join([*parts[:i], n]) for n in names]
                )
                raise ConfigError(
                    f"unknown config key '{key}': no '{part}' in {where}; "
                    f"{hint + ' ' if hint else ''}valid: {', '.join(names) or '(none)'}"
                )
            tp = typing.get_type_hints(tp)[part]
            if i < len(parts) - 1:
                node = node[part]
        node[parts[-1]] = yaml.safe_load(raw) if dataclasses.is_dataclass(tp) else raw
    return from_dict(type(cfg), data)


def load_config(
    path: str | Path, overrides: list[str] | None = None, cuda: bool | None = None
) -> Config:
    """Read a YAML experiment file into a Config, apply `key=value` overrides and `validate` the
    result (`cuda` given: for a run on this machine, so every rule of validate's `for_run` too, in
    the same pass).

    Raises:
        ConfigError: one line naming the file or the dotted key, the value and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        hint = did_you_mean_path(path) or "configs/*.yaml lists the experiment files"
        raise ConfigError(f"config file {path} does not exist; {hint}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping at the top level")
    data.setdefault("name", path.stem)
    plugins = load_config_plugins(data.get("plugins"), overrides or [], path)
    try:
        cfg = from_dict(Config, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    if overrides:
        cfg = apply_overrides(cfg, overrides)
    # recorded as loaded (a file by its absolute path), so the run's config.yaml finds them from any
    # folder
    cfg = dataclasses.replace(cfg, plugins=plugins) if plugins else cfg
    # from_dict typed it: validate's rules alone, once
    return check_typed(cfg, cuda, for_run=cuda is not None)


def load_config_plugins(listed, overrides: list[str], path: Path) -> list[str]:
    """Import the plugins a config names (`plugins:` or a `plugins=` override) before its names are
    checked; returns them as loaded (configs.plugins.load_plugins)."""
    from configs.plugins import load_plugins
    from models.registry import RegistryError

    given = [o.split("=", 1)[1] for o in overrides if o.startswith("plugins=")]
    specs = (
        [s.strip() for g in given for s in g.strip("[]").split(",") if s.strip()]
        if given
        else listed
    )
    if not specs:
        return []
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise ConfigError(f"{path}: plugins: {specs!r}; a list of .py files or module names")
    try:
        return load_plugins(specs)
    except RegistryError as err:
        raise ConfigError(f"plugins: {err}") from None


def model_config_from_json(text: str) -> ModelConfig:
    """The model config stored in a checkpoint, checked like one read from YAML."""
    model = from_dict(ModelConfig, json.loads(text), prefix="model.")
    check_model(model)
    return model
