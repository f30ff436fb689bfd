"""The pages as a person sees them, in headless Chromium (Debian's /usr/bin/chromium through
Playwright): the dashboard, the reports and `grade review`, on a class graded in code (no kernel).

Every request a page makes is routed: anything but the class folder (file://) and the review
server (127.0.0.1) fails the test. Hostile answers set `window.pwned` if anything of theirs runs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import pytest
from classroom import HOSTILE_NAME, build_class, serving_review

from grader.manual import manual_grades
from grader.report import safe_name
from grader.review.server import ReviewServer
from grader.rubric import Rubric

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian's chromium "
                       "package; ./setup.sh installs it with apt-get)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors, page errors and outside requests are recorded."""

    def __init__(self, browser, allowed: tuple[str, ...]) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r) -> None:
            url = r.request.url
            if url.startswith(allowed):
                r.continue_()
            else:
                self.outside.append(url)
                r.abort()

        self.page.route("**/*", route)

    def clean(self) -> None:
        assert self.errors == [] and self.outside == []
        assert self.page.evaluate("window.pwned") is None


@pytest.fixture
def graded_class(tmp_path: Path, lab9_rubric: Rubric) -> Path:
    return build_class(tmp_path / "lab9", lab9_rubric)


def test_dashboard_and_reports_load_clean_and_every_link_works(browser, graded_class: Path
                                                               ) -> None:
    watched = Watched(browser, ("file://",))
    page = watched.page
    page.goto((graded_class / "index.html").as_uri())
    for qid in ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2"):
        assert page.get_by_role("cell", name=qid, exact=True).first.is_visible()
    assert page.locator("svg rect").count() == 10
    page.get_by_role("button", name="%").click()  # the sorter runs without error
    first = page.locator("#students-table tbody tr").first.locator("td").first.inner_text()
    assert first.startswith("alice")  # 100 % first once sorted by score, descending
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert len(hrefs) >= 4
    for href in hrefs:
        if not href.endswith(".html"):  # grades.csv: a download, not a page
            assert Path(unquote(urlsplit(href).path)).is_file(), href
            continue
        response = page.goto(href)
        assert response is not None and response.ok, href
        assert page.title()
        watched.clean()
    hostile = (graded_class / f"{safe_name(HOSTILE_NAME)}.html").as_uri()
    page.goto(hostile)
    assert HOSTILE_NAME in page.locator("h1").inner_text()  # shown as text
    assert page.locator(".student-md math").count() == 2  # the answer's math, as MathML
    watched.clean()


def test_released_student_reports_load_clean_without_model_answers(
        browser, graded_class: Path, tmp_path: Path, lab9_rubric: Rubric) -> None:
    from grader.release import release_class

    release_class(graded_class, tmp_path / "release", False)
    reports = sorted((tmp_path / "release").glob("*/*.html"))
    assert len(reports) >= 3
    watched = Watched(browser, ("file://",))
    model = next(q.manual.model_answer for q in lab9_rubric.questions if q.manual)
    for report in reports:
        watched.page.goto(report.as_uri())
        for qid in ("1.1", "1.3", "2.2"):
            assert watched.page.get_by_text(qid, exact=False).first.is_visible()
        assert model[:40] not in watched.page.content()
        watched.clean()


@pytest.fixture
def server(graded_class: Path) -> Iterator[ReviewServer]:
    with serving_review(graded_class, "ta-anna") as review:
        yield review


def review_url(server: ReviewServer, student: str) -> str:
    return (f"http://127.0.0.1:{server.port}/review?"
            + urlencode({"token": server.token, "q": "1.4", "s": student}))


def test_review_page_without_token_is_403(browser, server: ReviewServer) -> None:
    page = browser.new_page()
    response = page.goto(f"http://127.0.0.1:{server.port}/review?q=1.4&s=alice")
    assert response is not None and response.status == 403
    assert "token" in page.content()


def test_entering_points_updates_gradebook_csv_and_report(browser, server: ReviewServer,
                                                          graded_class: Path) -> None:
    watched = Watched(browser, (f"http://127.0.0.1:{server.port}/",))
    page = watched.page
    page.goto(review_url(server, "alice"))
    page.keyboard.press("j")  # next student: bob
    page.wait_for_url("**s=bob**")
    page.keyboard.press("7")  # a digit goes to the points field
    page.fill("#comment", "both plots, weight sign not discussed")
    page.focus("#points")
    page.keyboard.press("Enter")
    page.wait_for_url("**saved=**")
    assert "Saved 7 points for bob" in page.get_by_role("status").inner_text()
    [grade] = manual_grades(graded_class)
    assert (grade.student, grade.points, grade.grader) == ("bob", 7.0, "ta-anna")
    rows = {r["student"]: r for r in csv.DictReader((graded_class / "grades.csv").open())}
    assert rows["bob"]["1.4"] == "9"
    report = browser.new_page()
    report.goto((graded_class / "bob.html").as_uri())
    assert "both plots, weight sign not discussed" in report.content()
    page.goto(review_url(server, "bob"))
    assert "7 by ta-anna" in page.locator(".history").inner_text()
    watched.clean()


def test_hostile_answer_never_runs_and_math_renders_as_mathml(browser, server: ReviewServer
                                                              ) -> None:
    watched = Watched(browser, (f"http://127.0.0.1:{server.port}/",))
    page = watched.page
    page.goto(review_url(server, HOSTILE_NAME))
    answer = page.locator("#student-answer")
    assert "<script>window.pwned = 1</script>" in answer.inner_text()  # shown, as text
    assert answer.locator("math").count() == 2
    box = answer.locator("math").first.bounding_box()
    assert box is not None and box["width"] > 0
    answer.get_by_text("raw").click()  # the raw <a href="javascript:..."> is only text
    page.wait_for_timeout(200)
    watched.clean()
    assert HOSTILE_NAME in page.locator("aside.roster").inner_text()

