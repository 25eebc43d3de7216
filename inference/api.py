"""One stylization run as a library call: `stylize(value)` takes InferOptions, a mapping of option
names or infer.py's argv, and returns the run's summary. infer.py's main is this plus printing;
eval's protocol and the video benchmark call it (or `run`, for options whose plugins are loaded)
from below the entry point.

The plugins are loaded here, once per run (before flags are parsed, so their names are choices),
and the checked options are passed down as one value (inference/options.py: the weights spec is
parsed once, by the options).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

import torch

from configs.plugins import load_plugins
from inference.checks import check_options
from inference.flags import build_parser
from inference.jobs import plan_jobs
from inference.options import InferError, InferOptions
from inference.run import run_jobs
from models.registry import RegistryError


def load_plugins_once(specs: Sequence[str]) -> None:
    """Import the --plugins (configs/plugins.py), so the names they register are choices and
    registered names; the run's one call, whichever form its options came in."""
    try:
        load_plugins(specs)
    except RegistryError as err:
        raise InferError(f"--plugins: {err}") from None


def parse_args(argv: list[str] | None = None) -> InferOptions:
    """Flags -> InferOptions (the argparse Namespace ends here); --plugins are imported first, so
    the names they register are choices."""
    preload = argparse.ArgumentParser(add_help=False)
    preload.add_argument("--plugins", nargs="+", default=[])
    load_plugins_once(preload.parse_known_args(argv)[0].plugins)
    return InferOptions.from_mapping(vars(build_parser().parse_args(argv)))


def options(value: InferOptions | Mapping | list[str]) -> InferOptions:
    """Checked InferOptions from InferOptions, an argv list, or a mapping of option names (dashes
    or underscores), with their plugins loaded; raises InferError with one line."""
    if isinstance(value, list):  # the flags' choices need the plugins: parse_args loads them
        opts = parse_args(value)
        return check_options(opts)
    opts = value if isinstance(value, InferOptions) else InferOptions.from_mapping(value)
    opts = check_options(opts)  # nan/inf/huge numbers and unknown choices: one line
    load_plugins_once(opts.plugins)
    return opts


def run(opts: InferOptions) -> dict:
    """Seed, plan and run checked options whose plugins are loaded; the summary of `stylize`."""
    torch.manual_seed(opts.seed)
    plan = plan_jobs(opts)
    return run_jobs(opts, plan)


def stylize(value: InferOptions | Mapping | list[str]) -> dict:
    """Run inference; returns {'written': [...], 'skipped': [...], 'failed': [{'path', 'error'}],
    'grid': path}.

    Raises InferError (and CheckpointError, PretrainedWeightsError, ConfigError) for errors that
    stop the whole run; a bad input file among others is recorded in 'failed' and the rest is
    written.
    """
    return run(options(value))
