"""The live page in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from daemon import Daemon, start_daemon
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def launch(pw: Any) -> Any:
    assert CHROMIUM, "chromium is not installed (scripts/test.sh installs it)"
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


def open_live_page(pw: Any, d: Daemon) -> tuple[Any, Any]:
    """Chromium on the daemon's live page (1100x480): (browser, page)."""
    browser = launch(pw)
    page = browser.new_page(viewport={"width": 1100, "height": 480})
    page.goto(d.url + "/")
    return browser, page


def replay(tmp_path: Path, model: Path, frames: list[Path], *args: str) -> Daemon:
    """A daemon replaying copies of ``frames`` at 10 fps."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for p in frames:
        shutil.copy(p, folder / p.name)
    return start_daemon(
        tmp_path, "--model", str(model), "--source", str(folder), "--source-fps", "10", *args
    )


def test_page_shows_the_stream_and_the_legend(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    d = replay(tmp_path, bars_model, camvid_val[:4])
    try:
        d.wait("/readyz")
        with sync_playwright() as pw:
            browser, page = open_live_page(pw, d)
            # The MJPEG <img> has decoded at least one frame.
            page.wait_for_function(
                "() => { const i = document.getElementById('view');"
                " return i.complete && i.naturalWidth > 0; }",
                timeout=20000,
            )
            page.wait_for_function(
                "() => document.querySelectorAll('#legend li').length > 0", timeout=20000
            )
            page.wait_for_function(
                "() => document.getElementById('fps').textContent !== '–'", timeout=20000
            )
            names = page.locator("#legend li .name").all_text_contents()
            size = page.evaluate(
                "() => [document.getElementById('view').naturalWidth,"
                " document.getElementById('view').naturalHeight]"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "web_page.png"
            page.screenshot(path=str(shot))
            browser.close()
        assert names == ["black", "red", "green", "blue"]
        assert size == [480, 360]
        with Image.open(shot) as im:
            view = np.asarray(im.convert("RGB"))[60:400, 20:480]
        assert view.std() > 10  # the stream rendered a real, non-blank picture
    finally:
        assert d.stop() == 0


def test_api_docs_render_offline(daemon: Daemon) -> None:
    """Swagger UI's assets come from the installed swagger-ui-bundle package: with every
    request that leaves the daemon refused, /docs still lists the operations."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_the_daemon(route: Any) -> None:
        if route.request.url.startswith(daemon.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.route("**/*", only_the_daemon)
        page.goto(daemon.url + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20000)
        paths = page.locator(".opblock-summary-path").all_text_contents()
        browser.close()
    assert "/v1/segment" in [p.replace("\u200b", "") for p in paths]
    assert outside == []


def test_page_draws_the_zones_with_their_shares(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    config = tmp_path / "zones.yaml"
    config.write_text(
        "zones:\n"
        "  - name: left\n"
        "    polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]\n"
        "    classes: [black, red]\n"
        f"events_dir: {tmp_path / 'events'}\n"
    )
    d = replay(tmp_path, bars_model, camvid_val[:2], "--config", str(config))
    try:
        d.wait("/readyz")
        with sync_playwright() as pw:
            browser, page = open_live_page(pw, d)
            page.wait_for_function(
                "() => /%/.test(document.querySelector('#zones li')?.textContent || '')",
                timeout=20000,
            )
            points = page.get_attribute("#zone-layer polygon[data-zone=left]", "points")
            text = page.locator("#zones li").all_text_contents()
            # The outline sits over the left half of the stream as drawn on the screen.
            box = page.locator("#zone-layer polygon").bounding_box()
            view = page.locator("#view").bounding_box()
            # Outlines only (a tint would change the class colours), the zone's name drawn
            # at its corner, and swatches ringed so the darkest colours show.
            fill = page.evaluate(
                "() => getComputedStyle(document.querySelector('#zone-layer polygon')).fill"
            )
            tag = page.locator(".zone-name[data-zone=left]")
            tag_text, tag_box = tag.text_content(), tag.bounding_box()
            ring = page.evaluate(
                "() => getComputedStyle(document.querySelector('.swatch')).borderTopColor"
            )
            browser.close()
        assert fill == "none"
        assert tag_text == "left" and tag_box is not None
        assert abs(tag_box["x"] - view["x"]) <= 8 and abs(tag_box["y"] - view["y"]) <= 8
        assert ring == "rgb(221, 221, 221)"
        assert points == "0,0 0.5,0 0.5,1 0,1"
        assert len(text) == 1 and text[0].startswith("left: black ") and ", red " in text[0]
        assert box is not None and view is not None
        # (the box includes the outline, 4 px when active, drawn across the edge)
        centre = box["x"] + box["width"] / 2
        assert abs(centre - (view["x"] + view["width"] / 4)) <= 3
        assert abs(box["width"] - view["width"] / 2) <= 16
        assert abs(box["height"] - view["height"]) <= 16
    finally:
        assert d.stop() == 0


def test_page_without_a_source_says_how_to_upload_and_takes_a_photo(
    bars_model: Path, camvid_val: list[Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    d = start_daemon(tmp_path, "--model", str(bars_model))  # the README's plain `serve`
    try:
        d.wait("/readyz")
        with sync_playwright() as pw:
            browser, page = open_live_page(pw, d)
            page.wait_for_selector("#uploads", state="visible", timeout=20000)
            hint = page.locator("#curl").text_content()
            view_hidden = not page.locator("#view").is_visible()  # no broken image
            page.set_input_files("#photo", str(camvid_val[0]))
            page.wait_for_function(
                "() => { const i = document.getElementById('view');"
                " return i.style.display === 'block' && i.complete && i.naturalWidth > 0; }",
                timeout=20000,
            )
            size = page.evaluate(
                "() => [document.getElementById('view').naturalWidth,"
                " document.getElementById('view').naturalHeight]"
            )
            browser.close()
        assert view_hidden
        upload = f"'{d.url}/v1/segment?format=overlay'"
        assert hint == f"curl -F image=@photo.jpg {upload} -o overlay.jpg"
        assert size == [480, 360]  # the overlay of the photo, at its own size
    finally:
        assert d.stop() == 0
