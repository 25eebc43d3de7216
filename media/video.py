"""Clips on disk: streaming decode to RGB frames, streaming encode, audio copied packet for packet.

Frames travel as uint8 (H, W, 3) RGB numpy arrays at this boundary (media.images converts to
tensors). Decoding and encoding stream one frame at a time, so memory does not grow with the clip's
length.

Output choices (the reasons):
  * H.264 (libx264, `crf`: 18 visually lossless .. 28 small; default 20) when the FFmpeg inside PyAV
    has it, else MPEG-4 part 2 at a bit rate (`bit_rate`, default from the frame size). `bit_rate`
    given: both encoders use it instead of the CRF.
  * yuv420p, the pixel format every player accepts. It needs even sides, and H.264's frame cropping
    is not reachable through libx264's options, so an odd side is padded by repeating the last row
    or column: the video is then 1 px larger on that side, and `VideoWriter.padded` says so (PNG
    frames keep the exact size).
  * Timestamps: every frame keeps its decoded presentation time in the source's time base, so a
    variable-frame-rate clip keeps its timing; the stream's nominal rate is the source's average
    rate.
  * Audio: each audio stream is remuxed packet by packet (never decoded) when MP4 can hold its
    codec, else decoded and re-encoded as AAC (the one lossy step, reported in `VideoWriter.notes`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEO_EXTENSIONS = {
    ".mp4",
    ".mov",
    ".m4v",
    ".mkv",
    ".webm",
    ".avi",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".ts",
    ".mts",
    ".m2ts",
    ".3gp",
    ".ogv",
}
DEFAULT_CRF = 20
# codecs the MP4 muxer stores as they are; anything else (PCM, Vorbis ...) is re-encoded as AAC
MP4_AUDIO = {"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"}


class VideoReadError(Exception):
    """A clip that cannot be decoded (corrupt, truncated, empty, no video stream, no frame)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


def is_video_file(path: str | os.PathLike) -> bool:
    """True when the file name has a video extension (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def video_encoder() -> str:
    """'libx264' when this FFmpeg build has it, else 'mpeg4'."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


@dataclass(frozen=True)
class Frame:
    """One decoded picture: RGB pixels, its presentation time (in `VideoReader.time_base`) and
    index."""

    rgb: np.ndarray  # (H, W, 3) uint8
    pts: int
    index: int


class VideoReader:
    """Streams the frames of a clip; audio packets met on the way go to `on_audio` (for remuxing).

    Opening reads the header only; a broken clip raises VideoReadError naming the file and the
    reason.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as err:
            raise VideoReadError(path, f"not a readable video ({_first_line(err)})") from None
        if not self.container.streams.video:
            self.container.close()
            raise VideoReadError(path, "has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.audio = list(self.container.streams.audio)
        self.time_base = self.stream.time_base or Fraction(1, 90000)
        self.rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        ctx = self.stream.codec_context
        self.size = (ctx.width, ctx.height)  # (W, H) as coded, before any resize
        self.frames_hint = self.stream.frames or 0  # 0: the container does not say

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def frames(self, on_audio: Callable[[av.Packet], None] | None = None) -> Iterator[Frame]:
        """Decoded frames in presentation order with strictly increasing pts; raises VideoReadError
        when the clip breaks off (frames decoded before the break were already yielded) or has no
        frame."""
        streams = [self.stream, *(self.audio if on_audio else [])]
        index, last = 0, None
        step = max(1, round(1 / (self.rate * self.time_base)))  # one frame period, for missing pts
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None:  # the demuxer's final empty packet has none
                        on_audio(packet)
                    continue
                for frame in packet.decode():
                    pts = frame.pts
                    if pts is None:
                        pts = 0 if last is None else last + step
                    if last is not None and pts <= last:  # a muxer needs increasing pts
                        pts = last + 1
                    yield Frame(frame.to_ndarray(format="rgb24"), pts, index)
                    index, last = index + 1, pts
        except (av.FFmpegError, OSError, ValueError) as err:
            raise VideoReadError(
                self.path, f"corrupt or truncated after {index} frames ({_first_line(err)})"
            ) from None
        if index == 0:
            raise VideoReadError(self.path, "has no decodable frame (empty or zero-frame clip)")


class VideoWriter:
    """Writes RGB frames to an MP4 (H.264 or MPEG-4, yuv420p) with the source's timing and audio.

    Args:
        path: the file to write (the caller makes it atomic: the container format is fixed to MP4,
            so any temporary name works).
        source: the reader whose time base, rate and audio streams are copied.
        crf: H.264 constant rate factor (lower: better and larger).
        bit_rate: bits/s instead of the CRF (MPEG-4 always uses a bit rate).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        source: VideoReader,
        crf: int = DEFAULT_CRF,
        bit_rate: int | None = None,
    ):
        self.source, self.crf, self.bit_rate = source, crf, bit_rate
        self.container = av.open(str(path), "w", format="mp4")
        self.stream = None
        self.padded: tuple[int, int] | None = None  # (W, H) written when an odd size was padded
        self.notes: list[str] = []
        # source stream index -> (output stream, resampler for AAC re-encoding or None)
        self.audio: dict[int, tuple] = {}
        # audio met before the first frame: the header needs every stream, video included
        self.early: list[av.Packet] = []
        for stream in source.audio:
            self._add_audio(stream)

    def _add_audio(self, stream) -> None:
        if stream.codec_context.name in MP4_AUDIO:
            out = self.container.add_stream_from_template(stream)
            # packets keep their timestamps; left unset, the muxer divides by 0
            out.time_base = stream.time_base
            self.audio[stream.index] = (out, None)
            return
        out = self.container.add_stream("aac", rate=stream.codec_context.sample_rate or 48000)
        resampler = av.AudioResampler(format=out.format.name, layout=out.layout.name, rate=out.rate)
        self.audio[stream.index] = (out, resampler)
        self.notes.append(
            f"audio codec {stream.codec_context.name} cannot be copied into MP4: re-encoded as AAC"
        )

    def _open_video(self, width: int, height: int) -> None:
        codec = video_encoder()
        even = (width + width % 2, height + height % 2)
        self.padded = even if even != (width, height) else None
        options = {"crf": str(self.crf)} if codec == "libx264" and self.bit_rate is None else {}
        # one encoder thread: with libx264's frame threads the same frames gave different bits from
        # run to run (seen here on 2 of 6 runs); the network, not the encoder, limits the speed
        options["threads"] = "1"
        self.stream = self.container.add_stream(codec, rate=self.source.rate, options=options)
        self.stream.width, self.stream.height = even
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = self.source.time_base
        self.stream.codec_context.time_base = self.source.time_base
        if self.bit_rate is not None or codec != "libx264":
            # MPEG-4 has no CRF: ~0.15 bit per pixel per frame is good quality for natural video
            default = int(0.15 * even[0] * even[1] * float(self.source.rate))
            self.stream.bit_rate = self.bit_rate or default

    def mux_audio(self, packet: av.Packet) -> None:
        """Copy one source audio packet (or re-encode its frames as AAC, see MP4_AUDIO)."""
        if self.stream is None:
            self.early.append(packet)
            return
        out, resampler = self.audio[packet.stream.index]
        if resampler is None:
            # a copy: muxing takes the packet's data, and one packet may go to several outputs
            self.container.mux(_copy(packet, out))
            return
        for frame in packet.decode():
            for converted in resampler.resample(frame):
                self.container.mux(out.encode(converted))

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """One (H, W, 3) uint8 RGB frame at `pts` (source time base); the first frame fixes the
        size."""
        if self.stream is None:
            self._open_video(rgb.shape[1], rgb.shape[0])
            for packet in self.early:
                self.mux_audio(packet)
            self.early = []
        if self.padded:
            rgb = np.pad(rgb, ((0, rgb.shape[0] % 2), (0, rgb.shape[1] % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, self.source.time_base
        self.container.mux(self.stream.encode(frame))

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:  # the file is abandoned (the caller's atomic_path removes it): no flush
            self.container.close()

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        if self.stream is not None:
            self.container.mux(self.stream.encode(None))
        for out, resampler in self.audio.values():
            if resampler is not None:
                self.container.mux(out.encode(None))
        self.container.close()


def _copy(packet: av.Packet, stream) -> av.Packet:
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base, copy.is_keyframe, copy.stream = packet.time_base, packet.is_keyframe, stream
    return copy


def _first_line(err: Exception) -> str:
    """FFmpeg's own words (its messages repeat the file name, which the caller already gives)."""
    if isinstance(err, av.FFmpegError) and err.strerror:
        return str(err.strerror)
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
