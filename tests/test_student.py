"""The student (models/student.py) and its distillation (training/distill.py, loss.teacher): it
trains through train.py with the teacher term, logged, and resumes exactly; the term is zero for the
teacher's own image and positive otherwise; a 4096-px-wide image runs in one pass; and
`--checkpoint hed-student` loads by name (a random-weights release placed where the loader looks,
until the real one is trained)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from train_helpers import check_resume_in_new_process, tiny_config

from configs.schema import DecoderConfig, EncoderConfig, LossConfig, ModelConfig
from models.net import StyleTransferNet
from training.objective import StyleTransferObjective
from weights.checkpoint import RELEASE_FILE, CheckpointError
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")
STUDENT = ModelConfig(
    EncoderConfig(kind="student", pretrained=False, trainable=True), DecoderConfig(kind="student")
)


def student() -> StyleTransferNet:
    return StyleTransferNet(STUDENT)


def last_conv(net: StyleTransferNet) -> torch.nn.Conv2d:
    return [m for m in net.decoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]


def student_overrides(teacher: Path, **extra) -> dict[str, object]:
    """smoke.yaml's tiny run with the student, its content term on the loss network's features
    (the student's own are not VGG's) and `teacher` as loss.teacher."""
    return {
        "model.encoder.kind": "student",
        "model.encoder.trainable": "true",
        "model.decoder.kind": "student",
        "loss.content_target": "content",
        "loss.content_layers": "relu3_1",
        "loss.teacher": teacher,
        "loss.teacher_weight": 10,
        **extra,
    }


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory) -> Path:
    """A random student saved as a release: a teacher whose image is not flat grey."""
    torch.manual_seed(1)
    net = student()
    last_conv(net).weight.data *= 20  # spread the sigmoid's input: varied output
    return save_release(tmp_path_factory.mktemp("teacher") / RELEASE_FILE, net)


def test_it_is_small_and_every_parameter_trains():
    net = student()
    assert sum(p.numel() for p in net.parameters()) <= 500_000  # <= 2 MB as float32
    assert net.stride == 8 and all(p.requires_grad for p in net.parameters())
    content, style = torch.rand(2, 3, 40, 56), torch.rand(2, 3, 48, 32)
    out = net(content, style)
    assert out.shape == content.shape and 0 <= out.min() and out.max() <= 1
    out.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_a_4096_px_wide_image_runs_in_one_pass():
    net = student().eval()
    content, style = torch.rand(1, 3, 64, 4096), torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        out = net(content, style)
    assert out.shape == content.shape and torch.isfinite(out).all()


def objective(teacher: Path, net: StyleTransferNet, **loss) -> StyleTransferObjective:
    loss = {"content_target": "content", "content_layers": ["relu3_1"], **loss}
    cfg = LossConfig(loss_net="vgg19", loss_net_pretrained=False, teacher=str(teacher), **loss)
    return StyleTransferObjective(net, cfg).eval()


@pytest.mark.parametrize("layers", [[], ["relu2_1"]])
def test_the_teacher_term_is_zero_for_the_teachers_own_image_and_positive_otherwise(
    teacher_file, layers
):
    from weights.load import load_model

    content, style = torch.rand(2, 3, 32, 40), torch.rand(2, 3, 32, 32)
    net = load_model(teacher_file).requires_grad_(True)  # the student IS the teacher
    obj = objective(teacher_file, net, teacher_layers=layers, teacher_weight=3.0)
    same = obj(content, style)
    terms = ["teacher", *(["teacher_features"] if layers else [])]
    assert all(same[term] == 0 for term in terms)
    with torch.no_grad():
        last_conv(net).bias += 0.5  # the student's image moves, the teacher's does not
    moved = obj(content, style)
    assert all(moved[term] > 0 for term in terms)
    expected = moved["content"] + 10 * moved["style"] + 3 * moved["teacher"]
    expected = expected + moved.get("teacher_features", 0)
    assert torch.allclose(moved["total"], expected)
    # the teacher is frozen: nothing of it trains or reaches the optimizer
    assert not any(p.requires_grad for p in obj.distill.parameters())


def test_a_vgg_teacher_reads_the_loss_networks_features_and_scores_the_same(tmp_path):
    torch.manual_seed(0)
    vgg = ModelConfig(EncoderConfig(kind="vgg19", pretrained=False), DecoderConfig())
    teacher = save_release(tmp_path / "teacher.safetensors", StyleTransferNet(vgg))
    net = student()
    torch.manual_seed(0)  # the random loss network draws the teacher's encoder weights
    obj = objective(teacher, net, content_layers=["relu4_1"], teacher_layers=["relu3_1"])
    assert obj.distill.reuse
    content, style = torch.rand(2, 3, 32, 40), torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        reused = obj(content, style)
        obj.distill.reuse = False  # the teacher's own forward
        own = obj(content, style)
    for term in ("teacher", "teacher_features"):
        assert torch.equal(reused[term], own[term]) and reused[term] > 0
    obj = objective(teacher, net, content_layers=["relu4_1"])  # another random loss network
    assert not obj.distill.reuse


def test_it_trains_with_the_teacher_is_logged_and_resumes_exactly(
    sample_root, tmp_path, teacher_file, request, monkeypatch
):
    from train import train

    # one intra-op thread: with two, this student's decoder bias differed after a resume in the
    # fresh-clone CI (two-thread kernels of this net are not run-to-run exact: to investigate)
    threads = torch.get_num_threads()
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # and in the resumed process

    run = tmp_path / "run"
    train(tiny_config(sample_root, **student_overrides(teacher_file)), run)
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    assert all(e.value > 0 for e in events.Scalars("loss/teacher"))
    saved = load_file(str(run / "checkpoints" / "step_000004" / "weights.safetensors"))
    assert any(k.startswith("encoder.") for k in saved)  # the trained encoder is saved
    assert not any(k.startswith("distill.") for k in saved)  # the teacher's weights are not
    # 2 steps, then a new process resumes to 4: bitwise the uninterrupted run
    check_resume_in_new_process(sample_root, tmp_path / "resume", **student_overrides(teacher_file))


def test_a_missing_teacher_is_one_line(sample_root, tmp_path):
    from train import main

    missing = tmp_path / "nowhere.safetensors"
    cfg = tiny_config(sample_root, **student_overrides(missing))
    with pytest.raises(CheckpointError, match="nowhere"):
        StyleTransferObjective(student(), cfg.loss)
    args = ["--config", "configs/smoke.yaml", "--run-dir", str(tmp_path / "run")]
    overrides = {**student_overrides(missing), "data.root": sample_root}
    assert main([*args, *(f"{k}={v}" for k, v in overrides.items())]) == 2


@pytest.fixture
def shipped(tmp_path, monkeypatch) -> Path:
    """releases/ holding a random-weights hed-student release, where `--checkpoint hed-student`
    looks."""
    monkeypatch.setattr("weights.sources.RELEASES_DIR", tmp_path / "releases")
    release = tmp_path / "releases" / "hed-student" / RELEASE_FILE
    release.parent.mkdir(parents=True)
    return save_release(release, student())


def test_the_name_loads_in_infer_eval_and_the_demo(shipped, tmp_path):
    import infer
    from app import build_parser
    from demo.picker import discover_models
    from demo.state import Demo
    from demo.types import Request
    from eval.evaluate import main as evaluate
    from media.images import load_image, save_image
    from weights.load import load_model
    from weights.sources import resolve_checkpoint

    assert resolve_checkpoint("hed-student") == shipped
    assert load_model(resolve_checkpoint("hed-student")).cfg == dataclasses.replace(STUDENT)
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    save_image(torch.rand(3, 40, 1100), content)  # wider than infer's tile size: tiling off
    save_image(torch.rand(3, 48, 48), style)
    # app.py --checkpoint hed-student: the picker lists it and the demo stylizes with it
    models = discover_models(build_parser().parse_args(["--checkpoint", "hed-student"]).checkpoint)
    demo = Demo(models, tmp_path / "results", weights="random")
    result = demo.run(Request(str(content), [str(style)], model="hed-student", size=32))
    assert demo.default == "hed-student" and result.image.shape == (3, 32, 880)
    out = tmp_path / "out"
    assert infer.main(["--checkpoint", "hed-student", "--content", str(content), "--style",
                       str(style), "--tile-size", "0", "--out", str(out)]) == 0  # fmt: skip
    (image,) = out.glob("*.png")
    assert load_image(image).shape[-2:] == (40, 1100)
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps({"pairs": [{"content": str(content), "style": str(style)}]}))
    rows = evaluate(["--checkpoint", "hed-student", "--pairs", str(pairs), "--size", "32",
                     "--weights", "random", "--out", str(tmp_path / "eval")])  # fmt: skip
    assert len(rows) == 1


def test_an_untrained_shipped_release_is_one_line_naming_its_script(tmp_path, monkeypatch):
    from weights.sources import resolve_checkpoint

    monkeypatch.setattr("weights.sources.RELEASES_DIR", tmp_path / "releases")
    with pytest.raises(CheckpointError, match="hed-student/train.sh") as err:
        resolve_checkpoint("hed-student")
    assert "\n" not in str(err.value)
