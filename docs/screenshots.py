"""Regenerate docs/screenshots/*.png: the class dashboard, an instructor report, a student's report
(as `grade release` writes it) and the review page.

    PYTHONPATH=. .venv/bin/python docs/screenshots.py            # the example class of the tests
    PYTHONPATH=. .venv/bin/python docs/screenshots.py grades/lab9  # a class you graded

With no argument it builds the class the browser tests use (tests/classroom.py: no kernel, a few
seconds) in a temporary folder. Headless Chromium at /usr/bin/chromium, driven by Playwright; the
review page is served by a `ReviewServer` on 127.0.0.1 for the shot and stopped. Each PNG is a
1280-pixel-wide view of the top of the page (kept under 200 KB).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


def example_class(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from classroom import build_class

    from grader.rubric import load_rubric

    return build_class(folder / "lab9", load_rubric(ROOT / "rubrics" / "lab9.yaml"))


def take(out: Path) -> list[Path]:
    from grader.release import release_class
    from grader.report import safe_name
    from grader.review.server import ReviewServer
    from grader.store import Gradebook

    with Gradebook(out) as gradebook:
        graded = [s.student for s in gradebook.submissions() if s.status == "graded"]

    released = Path(tempfile.mkdtemp(prefix="nbgrade-release-"))
    release_class(out, released / "release")
    student_report = min((released / "release").glob(f"{safe_name(graded[0])}/*.html"))
    server = ReviewServer(out, grader="ta")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots = [("dashboard.png", (out / "index.html").as_uri(), 1100),
             ("report.png", (out / f"{safe_name(graded[0])}.html").as_uri(), 1100),
             ("student-report.png", student_report.as_uri(), 1000),
             ("review.png", server.url, 760)]
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name, url, height in shots:
                page.set_viewport_size({"width": 1280, "height": height})
                page.goto(url)
                path = SHOTS / name
                page.screenshot(path=str(path))
                written.append(path)
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(released, ignore_errors=True)
    return written


def main() -> None:
    if len(sys.argv) > 1:
        paths = take(Path(sys.argv[1]))
    else:
        folder = Path(tempfile.mkdtemp(prefix="nbgrade-shots-"))
        try:
            paths = take(example_class(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for path in paths:
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
