"""CCPL (training/ccpl.py): its parts against hand computations, and as a training term through
train.py: logged, its heads trained and saved, a resume bitwise equal to an uninterrupted run."""

import torch
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from train_helpers import (
    SMOKE,
    check_resume_in_new_process,
    run_cli,
    tiny_config,
    tiny_overrides,
)

from training.ccpl import CCPL, info_nce, neighbour_differences, sample_centres

CCPL_ON = {"loss.ccpl_weight": 5}


def test_neighbour_differences_are_centre_minus_each_neighbour():
    feat = torch.randn(2, 3, 5, 6)
    centres = torch.tensor([[1, 1], [3, 4]])
    out = neighbour_differences(feat, centres)  # (B, 8 * N, C)
    assert out.shape == (2, 16, 3)
    expected = [
        feat[:, :, y, x] - feat[:, :, y + dy, x + dx]
        for y, x in centres.tolist()
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    ]
    assert torch.allclose(out, torch.stack(expected, dim=1))


def test_centres_are_distinct_and_off_the_border():
    centres = sample_centres((6, 7), 100, torch.Generator().manual_seed(0))
    assert len(centres) == 4 * 5  # every interior position once, no more
    assert len({tuple(c) for c in centres.tolist()}) == len(centres)
    assert centres[:, 0].min() >= 1 and centres[:, 0].max() <= 4
    assert centres[:, 1].min() >= 1 and centres[:, 1].max() <= 5


def test_info_nce_is_low_for_matching_keys_and_ln_s_for_uninformative_ones():
    query = torch.nn.functional.normalize(torch.randn(2, 16, 8), dim=-1)
    matched = info_nce(query, query, 0.07)
    shuffled = info_nce(query, query[:, torch.randperm(16)], 0.07)
    assert matched < 0.5 < shuffled
    same = torch.nn.functional.normalize(torch.ones(1, 16, 8), dim=-1)  # every logit equal
    assert torch.isclose(info_nce(same, same, 0.07), torch.log(torch.tensor(16.0)), atol=1e-5)


def test_ccpl_is_lower_when_the_output_keeps_the_contents_differences():
    torch.manual_seed(0)
    loss = CCPL({"relu2_1": 16}, samples=8)
    content = {"relu2_1": torch.randn(2, 16, 12, 12)}
    kept = {"relu2_1": 2 * content["relu2_1"] + 1}  # same differences up to scale: coherent
    lost = {"relu2_1": torch.randn(2, 16, 12, 12)}
    a = loss(kept, content)
    loss.calls.zero_()  # the same centres for both
    b = loss(lost, content)
    assert a < b and int(loss.calls) == 1


def _heads(path) -> dict:
    """The CCPL heads' weights in a step checkpoint (its draw counter left out)."""
    return {k: v for k, v in load_file(str(path)).items() if k.startswith("ccpl.heads.")}


def test_ccpl_trains_is_logged_and_resumes_exactly(sample_root, tmp_path):
    from train import train

    run = tmp_path / "run"
    train(tiny_config(sample_root, **CCPL_ON), run)
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    assert "loss/ccpl" in events.Tags()["scalars"]
    assert all(e.value > 0 for e in events.Scalars("loss/ccpl"))
    first, last = (
        _heads(run / "checkpoints" / f"step_{s:06d}" / "weights.safetensors") for s in (2, 4)
    )
    assert first and first.keys() == last.keys()
    assert any(not torch.equal(first[k], last[k]) for k in first)  # the heads train
    assert "ccpl.heads.relu4_1.2.weight" in first
    # the weights, the heads' optimizer state and the sampling RNG carry over a resume
    check_resume_in_new_process(sample_root, tmp_path / "resume", **CCPL_ON)


def test_off_by_default_and_a_bad_layer_list_is_one_line(sample_root, tmp_path):
    from train import train

    train(tiny_config(sample_root, **{"train.steps": 2}), tmp_path / "off")
    events = EventAccumulator(str(tmp_path / "off"), size_guidance={"scalars": 0})
    events.Reload()
    assert "loss/ccpl" not in events.Tags()["scalars"]
    bad = tiny_overrides(sample_root, **CCPL_ON, **{"loss.ccpl_layers": "[relu2_1,relu2_1]"})
    proc = run_cli(["--config", str(SMOKE), "--run-dir", str(tmp_path / "b"), *bad], timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "loss.ccpl_layers" in lines[0], proc.stderr
    assert not (tmp_path / "b").exists()
