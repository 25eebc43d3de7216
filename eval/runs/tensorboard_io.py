"""Read scalar curves back from TensorBoard event files.

`torch.utils.tensorboard.SummaryWriter.add_scalar` writes a legacy `simple_value` summary by default
(read back through `EventAccumulator.Scalars`) and, with `new_style=True`, a rank-0 tensor tagged
with the "scalars" plugin (read back through `EventAccumulator.Tensors`); TensorFlow 2 writers also
use the tensor form. Both are read here and merged per tag.

`EventAccumulator` keeps a reservoir sample of only 10,000 scalars (and 10 tensors) per tag by
default: a long run's curve would silently lose points. `size_guidance=0` for both keeps every
point.
"""

import os
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

EVENT_FILE_PREFIX = "events.out.tfevents."

# 0 means "keep everything" for EventAccumulator.
_KEEP_ALL = {"scalars": 0, "tensors": 0}

__all__ = ["EVENT_FILE_PREFIX", "find_runs", "read_scalars", "wall_seconds"]


def find_runs(root: str | os.PathLike) -> list[Path]:
    """Every folder under `root` (itself included) that directly holds an `events.out.tfevents.*`
    file.

    Args:
        root: a run folder or a log root with run folders nested at any depth.

    Returns:
        The run folders, sorted by path.

    Raises:
        FileNotFoundError: if `root` does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"log folder {root} does not exist (or is not a folder)")
    runs = []
    for folder, _, files in os.walk(root):
        if any(name.startswith(EVENT_FILE_PREFIX) for name in files):
            runs.append(Path(folder))
    return sorted(runs)


def read_scalars(run_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """All scalar points logged in one run folder, per tag, sorted by step.

    Reads every event file directly inside `run_dir` (not sub-folders: those are separate runs, see
    `find_runs`), e.g. the several files a resumed run leaves behind. Points are sorted by step;
    when a step was logged more than once (a run resumed from an earlier checkpoint re-logs the
    steps after it), the point written last (by wall time) is kept, which is the curve the resumed
    run produced.

    Args:
        run_dir: a folder holding `events.out.tfevents.*` files.

    Returns:
        {tag: [(step, value), ...]} with float values, in increasing step order.

    Raises:
        FileNotFoundError: if `run_dir` holds no event file.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not any(
        p.name.startswith(EVENT_FILE_PREFIX) for p in run_dir.iterdir()
    ):
        raise FileNotFoundError(
            f"no TensorBoard event file ({EVENT_FILE_PREFIX}*) directly in {run_dir}; "
            "pass a run folder, or use find_runs() on a log root"
        )
    accumulator = EventAccumulator(str(run_dir), size_guidance=_KEEP_ALL)
    accumulator.Reload()
    tags = accumulator.Tags()

    # tag -> step -> (wall_time, value); the latest wall time wins for duplicate steps.
    points: dict[str, dict[int, tuple[float, float]]] = {}

    def add(tag: str, step: int, wall_time: float, value: float) -> None:
        per_step = points.setdefault(tag, {})
        if step not in per_step or wall_time >= per_step[step][0]:
            per_step[step] = (wall_time, value)

    for tag in tags.get("scalars", []):
        for event in accumulator.Scalars(tag):
            add(tag, int(event.step), event.wall_time, float(event.value))
    for tag in tags.get("tensors", []):
        # Only tensors written by the scalars plugin are scalars; others (text, hparams, pr curves)
        # are not.
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        for event in accumulator.Tensors(tag):
            array = tensor_util.make_ndarray(event.tensor_proto)
            if array.size != 1:
                continue
            add(tag, int(event.step), event.wall_time, float(array.reshape(-1)[0]))

    return {
        tag: [(step, v) for step, (_, v) in sorted(per_step.items())]
        for tag, per_step in points.items()
    }


def wall_seconds(run_dir: str | os.PathLike) -> float | None:
    """The time a run trained: per events file (one per process: a resumed run has several), the
    span from its first to its last event, summed; None without events. Start-up before the first
    event and idle time between resumes are not counted."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    total, found = 0.0, False
    for path in sorted(Path(run_dir).glob(f"{EVENT_FILE_PREFIX}*")):
        times = [event.wall_time for event in EventFileLoader(str(path)).Load()]
        if times:
            total, found = total + max(times) - min(times), True
    return total if found else None
