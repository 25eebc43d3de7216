"""Video in, video out through infer.py: frames, size, timing and audio kept; bad clips are one line
each."""

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import vary_outputs
from PIL import Image

import infer
from configs.schema import DecoderConfig, EncoderConfig, ModelConfig
from data_prep.sample_clip import write_clip
from media.video import VideoReader, VideoWriter
from models.net import StyleTransferNet
from weights.release import save_release

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("video")
    torch.manual_seed(0)
    net = StyleTransferNet(ModelConfig(EncoderConfig(pretrained=False), DecoderConfig()))
    vary_outputs(net)
    (root / "c").mkdir()
    write_clip(root / "c" / "clip.mp4", 12, (64, 48), rate=12, noise=0.03, vfr=True)
    write_clip(root / "c" / "odd.mp4", 6, (63, 47), codec="mpeg4", audio=False)
    Image.fromarray(np.full((40, 56, 3), 90, np.uint8)).save(root / "c" / "still.png")
    style = root / "style.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)).save(style)
    return dict(root=root, ckpt=str(save_release(root / "vgg.safetensors", net)), style=str(style))


def argv(env, out, *extra, content=None):
    return [
        "--checkpoint",
        env["ckpt"],
        "--content",
        *(content or [str(env["root"] / "c")]),
        "--style",
        env["style"],
        "--out",
        str(env["root"] / out),
        "--weights",
        "random",
        *extra,
    ]


def _probe(path):
    with VideoReader(path) as reader:
        packets = reader.container.demux(*reader.audio) if reader.audio else []
        audio = [bytes(p) for p in packets if p.size]
    with VideoReader(path) as reader:
        frames = list(reader.frames())
        return dict(
            pts=[f.pts for f in frames],
            size=frames[0].rgb.shape[1::-1],
            rate=reader.rate,
            time_base=reader.time_base,
            audio=audio,
            codec=reader.stream.codec_context.name,
        )


def test_folder_of_clips_and_an_image(env):
    summary = infer.stylize(argv(env, "out", "--batch-size", "4", "--frames"))
    assert not summary["failed"] and len(summary["written"]) == 3
    src = _probe(env["root"] / "c" / "clip.mp4")
    out = _probe(env["root"] / "out" / "clip__style.mp4")
    assert out["pts"] == src["pts"] and out["time_base"] == src["time_base"]  # count and VFR timing
    assert out["size"] == (64, 48) and out["codec"] == "h264"
    assert out["audio"] and out["audio"] == src["audio"]  # the AAC packets, byte for byte
    frames = sorted((env["root"] / "out" / "clip__style_frames").iterdir())
    assert len(frames) == 12 and Image.open(frames[0]).size == (64, 48)
    odd = _probe(env["root"] / "out" / "odd__style.mp4")
    assert odd["size"] == (64, 48) and len(odd["pts"]) == 6  # padded to even sides for yuv420p
    assert odd["rate"] == _probe(env["root"] / "c" / "odd.mp4")["rate"] == 12  # constant rate kept
    assert Image.open(env["root"] / "out" / "odd__style_frames" / "000000.png").size == (63, 47)
    assert (env["root"] / "out" / "still__style.png").is_file()


def test_existing_outputs_follow_the_image_rules(env, capsys):
    content = [str(env["root"] / "c" / "odd.mp4")]
    assert infer.main(argv(env, "again", content=content)) == 0
    assert infer.main(argv(env, "again", content=content)) == 2
    assert "already exist" in capsys.readouterr().err
    summary = infer.stylize(argv(env, "again", "--skip-existing", content=content))
    assert summary["skipped"] and not summary["written"]


def test_bad_clips_are_one_line_each_and_the_rest_is_written(env, capsys):
    bad = env["root"] / "bad"
    bad.mkdir()
    good = (env["root"] / "c" / "odd.mp4").read_bytes()
    (bad / "good.mp4").write_bytes(good)
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "noise.mkv").write_bytes(np.random.default_rng(0).bytes(5000))
    (bad / "truncated.mp4").write_bytes((env["root"] / "c" / "clip.mp4").read_bytes()[:3000])
    sound = av.open(str(bad / "sound.mp4"), "w")  # audio only: no video stream
    stream = sound.add_stream("aac", rate=48000, layout="mono")
    for i in range(10):
        silence = np.zeros((1, 1024), np.float32)
        frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 1024
        sound.mux(stream.encode(frame))
    sound.mux(stream.encode(None))
    sound.close()
    zero = av.open(str(bad / "zero.mkv"), "w")  # a header and a video stream, no frame
    empty = zero.add_stream("mpeg4", rate=12)
    empty.width, empty.height, empty.pix_fmt = 64, 48, "yuv420p"
    zero.start_encoding()
    zero.close()
    assert infer.main(argv(env, "bad_out", content=[str(bad)])) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed:")]
    assert len(err) == 5 and all(len(line) < 300 for line in err)
    for name in ("empty.mp4", "noise.mkv", "truncated.mp4", "sound.mp4", "zero.mkv"):
        assert sum(name in line for line in err) == 1
    assert sorted(p.name for p in (env["root"] / "bad_out").iterdir()) == ["good__style.mp4"]


def test_a_video_as_style_is_one_line(env, capsys):
    args = argv(env, "vs")
    args[args.index("--style") + 1] = str(env["root"] / "c" / "clip.mp4")
    assert infer.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: style") and "is a video" in err[-1]


_STREAM = """
import resource, sys
from media.video import VideoReader, VideoWriter
with VideoReader(sys.argv[1]) as r:
    with VideoWriter(sys.argv[2], r) as w:
        for f in r.frames(w.mux_audio):
            w.write(f.rgb, f.pts)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_streaming_memory_does_not_grow_with_length(tmp_path):
    """160 frames at 320x240 are 37 MB as RGB: a reader or writer that kept them would show it."""
    peaks = []
    for frames in (10, 160):
        clip = tmp_path / f"c{frames}.mp4"
        write_clip(clip, frames, (320, 240), rate=24, speed=1)
        cmd = [sys.executable, "-c", _STREAM, str(clip), str(tmp_path / f"o{frames}.mp4")]
        run = subprocess.run(
            cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1], check=True
        )
        peaks.append(int(run.stdout.split()[-1]) / 1024)  # MB
    assert peaks[1] < peaks[0] + 15, peaks


def knob_flags(style, style2, mask) -> list[str]:
    """Two styles by a mask, two alphas, colour preservation, tiling: the per-image knobs."""
    return [
        *("--style", str(style), str(style2), "--mask", str(mask), "--alpha", "0.5,1"),
        *("--preserve-color", "luminance", "--tile-size", "32", "--tile-overlap", "16"),
    ]


def test_per_image_knobs_apply_per_frame(env, tmp_path):
    """Masks, two alphas, colour preservation, tiling and stats smoothing on a clip: frame 0 (a
    scene start, so fresh statistics) equals the same frame stylized as an image, same flags."""
    clip = tmp_path / "knobs.mp4"
    write_clip(clip, 4, (64, 48), noise=0.03, audio=False)
    with VideoReader(clip) as reader:
        Image.fromarray(next(reader.frames()).rgb).save(tmp_path / "first.png")
    mask = np.zeros((48, 64, 3), np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    style2 = tmp_path / "s2.png"
    Image.fromarray(np.full((40, 40, 3), (200, 40, 90), np.uint8)).save(style2)
    flags = [
        "--checkpoint",
        env["ckpt"],
        *knob_flags(env["style"], style2, tmp_path / "mask.png"),
        "--weights",
        "random",
    ]
    video = infer.stylize(
        [
            *flags,
            "--content",
            str(clip),
            "--out",
            str(tmp_path / "v"),
            "--temporal",
            "stats",
            "--frames",
        ]
    )
    image = infer.stylize(
        [*flags, "--content", str(tmp_path / "first.png"), "--out", str(tmp_path / "i")]
    )
    assert len(video["written"]) == 2 and not video["failed"]
    for path in image["written"]:
        name = Path(path).stem.replace("first", "knobs")
        frame = np.asarray(Image.open(tmp_path / "v" / f"{name}_frames" / "000000.png"), int)
        assert np.abs(frame - np.asarray(Image.open(path), int)).max() == 0
        assert len(_probe(tmp_path / "v" / f"{name}.mp4")["pts"]) == 4


def test_audio_mp4_cannot_hold_is_reencoded_as_aac(tmp_path):
    """PCM (e.g. from .mkv/.mov) has no MP4 tag: decoded and re-encoded as AAC, with a note."""
    src = av.open(str(tmp_path / "pcm.mkv"), "w")
    video = src.add_stream("mpeg4", rate=12)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    audio = src.add_stream("pcm_s16le", rate=48000, layout="mono")
    tone = (np.sin(np.arange(4000) / 10) * 3000).astype(np.int16)[None]
    for i in range(6):
        src.mux(video.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), "rgb24")))
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * 4000
        src.mux(audio.encode(frame))
    src.mux(video.encode(None))
    src.mux(audio.encode(None))
    src.close()
    with VideoReader(tmp_path / "pcm.mkv") as reader, VideoWriter(tmp_path / "o.mp4", reader) as w:
        for frame in reader.frames(w.mux_audio):
            w.write(frame.rgb, frame.pts)
    assert "re-encoded as AAC" in w.notes[0]
    out = av.open(str(tmp_path / "o.mp4"))
    samples = sum(f.samples for f in out.decode(audio=0))
    assert out.streams.audio[0].codec_context.name == "aac" and 24000 <= samples < 24000 + 2048
