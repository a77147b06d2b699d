from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from zoo import colour_bars

from edge_runtime.pipeline import Pipeline
from edge_runtime.results import Segmentation
from edge_runtime.sources import SourceError, make_source
from edge_runtime.sources.files import ImageFolderSource
from edge_runtime.sources.loop import FrameLoop, LatestFrame, StreamHub
from edge_runtime.sources.synthetic import SyntheticSource


def test_latest_frame_keeps_one_and_counts_the_replaced() -> None:
    slot = LatestFrame()
    a, b, c = (np.full((2, 2, 3), v, np.uint8) for v in (1, 2, 3))
    slot.put(a)
    slot.put(b)  # a was never taken: skipped
    assert slot.take(0.1) is b
    assert slot.take(0.05) is None  # nothing new
    slot.put(c)
    assert slot.take(0.1) is c
    assert slot.skipped == 1


def test_take_waits_for_a_producer() -> None:
    slot = LatestFrame()
    frame = np.zeros((2, 2, 3), np.uint8)
    threading.Timer(0.05, slot.put, args=(frame,)).start()
    assert slot.take(2.0) is frame


def test_hub_wakes_async_clients_and_slow_clients_skip() -> None:
    async def scenario() -> list[int]:
        hub = StreamHub()
        hub.bind(asyncio.get_running_loop())
        waiting = asyncio.create_task(hub.next_frame(0, timeout=30))
        await asyncio.sleep(0)  # the client is waiting before anything is published
        await asyncio.to_thread(hub.publish, {}, b"\x01")  # a capture thread publishes
        first = await waiting
        for i in range(2, 6):  # four more while the client is busy elsewhere
            await asyncio.to_thread(hub.publish, {}, bytes([i]))
        later = await hub.next_frame(first.seq if first else 0, timeout=30)
        assert await hub.next_frame(5, timeout=0.05) is None
        return [first.seq if first else -1, later.seq if later else -1]

    first, later = asyncio.run(scenario())
    assert first == 1 and later == 5  # woken for the first; a slow client gets the newest


class FlakySource:
    """Delivers ``good`` frames, then fails; the next open works again, up to
    ``max_opens`` (then the cable stays pulled)."""

    def __init__(self, good: int, max_opens: int | None = None):
        self.name, self.fps = "flaky", 200.0  # type: str, float | None
        self.good, self.opens, self.left, self.max_opens = good, 0, 0, max_opens

    def open(self) -> None:
        if self.max_opens is not None and self.opens >= self.max_opens:
            raise SourceError("cable pulled")
        self.opens += 1
        self.left = self.good

    def read(self) -> np.ndarray:
        if self.left == 0:
            raise SourceError("cable pulled")
        self.left -= 1
        return colour_bars()

    def close(self) -> None:
        pass


def test_frame_loop_reconnects_a_failing_source(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    # Works after each of 3 reconnects, then stays down: the end state is deterministic
    # (a recovery clears last_error, so a source that might be up at the end would race).
    source = FlakySource(good=3, max_opens=4)
    hub = StreamHub()
    loop = FrameLoop(source, pipe, hub, retry_initial_s=0.01, retry_max_s=0.02)
    loop.start()
    try:
        deadline = time.monotonic() + 60
        while (
            source.opens < 4 or loop.stats.state != "reconnecting" or loop.stats.reconnects < 4
        ) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.stop()
    assert source.opens == 4 and loop.stats.reconnects >= 4
    assert loop.stats.last_error == "cable pulled"
    assert loop.stats.processed >= 3 and hub.latest is not None
    assert loop.stats.state == "stopped"


def test_source_specs() -> None:
    assert isinstance(make_source("synthetic"), SyntheticSource)
    assert make_source("opencv:1").name == "1"
    assert make_source("/dev/video2").name == "/dev/video2"
    assert make_source("rtsp://cam.local/stream").name == "rtsp://cam.local/stream"
    assert make_source("picamera2:1").name == "picamera2:1"
    assert isinstance(make_source("frames/*.jpg"), ImageFolderSource)
    with pytest.raises(SourceError, match="unknown source 'floppy:0'"):
        make_source("floppy:0")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("../nowhere/camvid/val", "no such folder: ../nowhere/camvid/val"),
        ("/no/such/dir", "no such folder: /no/such/dir"),
        ("clips/missing.mp4", "no such file: clips/missing.mp4"),
    ],
)
def test_a_missing_path_is_named_as_missing(spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=f"^{message}$"):
        make_source(spec)


def test_a_single_image_file_is_a_source(camvid_val: list[Path]) -> None:
    assert isinstance(make_source(str(camvid_val[0])), ImageFolderSource)


def test_missing_camera_libraries_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "picamera2", None)  # absent, on any machine
    monkeypatch.setitem(sys.modules, "cv2", None)
    for spec, hint in (("picamera2", "apt install python3-picamera2"), ("opencv:0", "camera")):
        with pytest.raises(SourceError, match=hint):
            make_source(spec).open()


def test_synthetic_frames_move() -> None:
    s = SyntheticSource(64, 48)
    s.open()
    a, b = s.read(), s.read()
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8 and not np.array_equal(a, b)


class TwoStreamSource:
    """Like picamera2: a small frame to segment and a large one to show."""

    def __init__(self) -> None:
        self.name, self.fps = "two-stream", 100.0  # type: str, float | None

    def open(self) -> None:
        pass

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        return colour_bars(96, 128), colour_bars(480, 640)

    def close(self) -> None:
        pass


def test_two_stream_sources_overlay_the_large_frame(zoo_dir: Path) -> None:
    import io

    from PIL import Image

    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    hub = StreamHub()
    published = threading.Event()  # set after the hub has the frame
    loop = FrameLoop(TwoStreamSource(), pipe, hub, on_segmented=lambda _: published.set())
    loop.start()
    try:
        assert published.wait(60)
    finally:
        loop.stop()
    assert hub.latest is not None
    with Image.open(io.BytesIO(hub.latest.jpeg())) as im:
        assert im.size == (640, 480)
    assert hub.latest.summary["width"] == 128  # the small frame was segmented


def test_i420_conversion_matches_pillow() -> None:
    from PIL import Image

    from edge_runtime.sources.picamera import i420_to_rgb

    rgb = colour_bars(48, 64)
    ycbcr = np.asarray(Image.fromarray(rgb).convert("YCbCr"))
    y = ycbcr[..., 0]
    u = ycbcr[::2, ::2, 1]
    v = ycbcr[::2, ::2, 2]
    buf = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)])
    back = i420_to_rgb(buf, 64, 48)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 3


def test_frames_wait_while_uploads_are_queued_and_resume_after(zoo_dir: Path) -> None:
    pipe = Pipeline.open(zoo_dir / "unet_float_logits.tflite")
    done = threading.Semaphore(0)
    loop = FrameLoop(TwoStreamSource(), pipe, StreamHub(), on_segmented=lambda _: done.release())
    loop.start()
    try:
        assert done.acquire(timeout=60)  # running
        loop.upload_started()
        assert loop.held.wait(60)  # the next frame waits behind the upload ...
        while done.acquire(blocking=False):  # (the frames before it were counted)
            pass
        paused = loop.stats.processed
        assert not done.acquire(timeout=0.2) and loop.stats.processed == paused  # ... held
        loop.upload_finished()
        assert done.acquire(timeout=60)  # and goes once the upload is done
        assert loop.stats.processed > paused
        loop.upload_started()  # stop() must not hang on a loop parked behind an upload
        assert loop.held.wait(60)
    finally:
        loop.stop()
    assert all(not t.is_alive() for t in loop._threads)


def test_a_bad_file_is_skipped_and_new_files_are_picked_up(
    camvid_val: list[Path], tmp_path: Path
) -> None:
    import shutil

    for name, src in (("a.png", camvid_val[0]), ("c.png", camvid_val[1])):
        shutil.copy(src, tmp_path / name)
    (tmp_path / "b.png").write_bytes(camvid_val[0].read_bytes()[:2000])  # truncated
    source = ImageFolderSource(str(tmp_path))
    source.open()
    first, second = source.read(), source.read()  # a.png, then c.png: b.png skipped
    assert first.shape == second.shape == (360, 480, 3)
    assert not np.array_equal(first, second)
    assert source.bad_files == 1 and source.last_bad and source.last_bad.startswith("b.png")
    shutil.copy(camvid_val[2], tmp_path / "d.png")  # added while running
    frames = [source.read() for _ in range(3)]  # the next pass lists the folder again
    assert any(
        np.array_equal(f, np.asarray(Image.open(camvid_val[2]).convert("RGB"))) for f in frames
    )
    for p in tmp_path.iterdir():
        p.write_bytes(b"not an image")
    with pytest.raises(SourceError, match="no readable image"):
        source.read()


class Failing(Pipeline):
    """A real pipeline whose segment fails the way a bug would (not an image error)."""

    def segment(self, *args: object, **kwargs: object) -> Segmentation:
        raise RuntimeError("boom")


def test_the_camera_loop_survives_failures_and_then_reports_them(zoo_dir: Path) -> None:
    from edge_runtime.api.runtime import Readiness, Runtime
    from edge_runtime.settings import Settings
    from edge_runtime.sources.loop import FAIL_AFTER

    model = zoo_dir / "unet_float_logits.tflite"
    pipe = Pipeline.open(model)
    failing = Failing(pipe.engine, pipe.spec)
    loop = FrameLoop(SyntheticSource(64, 48, fps=1000.0), failing, StreamHub())
    runtime = Runtime(Settings.load(), pipe, frames=loop, readiness=Readiness.READY)
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while loop.stats.state != "failed" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loop.stats.state == "failed"
        assert loop.stats.frame_errors >= FAIL_AFTER
        assert loop.stats.last_error == "RuntimeError: boom"
        assert all(t.is_alive() for t in loop._threads)  # survived every failure
        assert runtime.status() == ("not_ready", "camera loop failing: RuntimeError: boom")
        assert not runtime.healthy()  # no more WATCHDOG=1: systemd restarts the daemon
    finally:
        loop.stop()


def test_i420_rows_padded_to_the_isp_stride_are_cropped() -> None:
    from edge_runtime.sources.picamera import i420_to_rgb

    rgb = colour_bars(48, 64)
    ycbcr = np.asarray(Image.fromarray(rgb).convert("YCbCr"))
    planes = ycbcr[..., 0], ycbcr[::2, ::2, 1], ycbcr[::2, ::2, 2]
    stride = 96  # the ISP pads 64-pixel rows to 96 bytes, garbage in the padding
    y = np.full((48, stride), 255, np.uint8)
    y[:, :64] = planes[0]
    chroma = []
    for c in planes[1:]:
        padded = np.full((24, stride // 2), 7, np.uint8)
        padded[:, :32] = c
        chroma.append(padded.reshape(-1, stride))  # 24 rows of 48 = 12 rows of 96
    buffer = np.concatenate([y, *chroma])  # picamera2's (height * 3 // 2, stride) array
    assert buffer.shape == (72, 96)
    unpadded = i420_to_rgb(np.concatenate([p.reshape(-1) for p in planes]), 64, 48)
    np.testing.assert_array_equal(i420_to_rgb(buffer, 64, 48), unpadded)
    assert np.abs(unpadded.astype(int) - rgb.astype(int)).max() <= 3
