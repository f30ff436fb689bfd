"""`grade review`: what a reviewer sees of a student's answer, and what saving does (no kernel,
no browser: the server is driven over HTTP; test_browser.py drives it in Chromium)."""

from __future__ import annotations

import csv
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from classroom import (
    ALICE_ANSWER,
    HOSTILE_ANSWER,
    HOSTILE_NAME,
    build_class,
    serving_review,
    tags_of,
)

from grader.handout import load_handout
from grader.manual import manual_grades
from grader.report import safe_name
from grader.report.markup import render_markdown
from grader.review.page import ReviewIndex
from grader.review.server import ReviewServer
from grader.rubric import Rubric

ROOT = Path(__file__).resolve().parents[1]


def test_student_markdown_with_script_img_and_javascript_link_renders_as_text() -> None:
    html = render_markdown(HOSTILE_ANSWER)
    tags = tags_of(html)
    assert not [t for t, _ in tags if t in ("script", "img", "svg", "iframe", "textarea")]
    assert not [a for _, a in tags for k in a if k.startswith("on")]
    assert "javascript:" not in " ".join(str(a.get("href")) for _, a in tags)
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html  # shown, as text


def test_math_becomes_mathml_and_latex2mathml_passthrough_is_stripped() -> None:
    html = render_markdown(r"inline $w_2 = \frac{1}{2}$, display $$\sum_i x_i$$ and "
                           r"$\text{<script>x</script>}$ $\href{javascript:a}{y}$ $\left( x$")
    assert html.count('<math xmlns="http://www.w3.org/1998/Math/MathML"') == 4
    assert "<mfrac>" in html and "<munder>" in html
    assert "<script" not in html and "href" not in html
    assert '<code class="math-source">\\left( x</code>' in html  # bad math: its source, as text


def test_image_in_markdown_is_never_fetched() -> None:
    html = render_markdown("![plot](http://example.com/x.png)")
    assert "<img" not in html


def test_only_the_students_own_markdown_is_their_answer() -> None:
    handout = load_handout(ROOT / "rubrics/handouts/hw2.ipynb")
    prompt = next(m for m in handout.markdown if m.startswith("Recall Harris corner"))
    next_heading = next(m for m in handout.markdown if m.startswith("# 2 Question 2"))
    own = "The structure tensor $M$ is the covariance of the gradients."
    kept = handout.student_text([prompt, "(Your proof here)", prompt + "\n\n" + own,
                                 next_heading, "  ", "(Your proof here) 1. $M = G^T G$."])
    assert kept == [own, "1. $M = G^T G$."]


@pytest.fixture
def graded_class(tmp_path: Path, lab9_rubric: Rubric) -> Path:
    return build_class(tmp_path / "lab9", lab9_rubric)


def test_review_items_keep_the_students_text_code_and_figures(graded_class: Path) -> None:
    index = ReviewIndex(graded_class)
    assert [q.question_id for q in index.questions] == ["1.4"]
    assert index.students["1.4"] == ["alice", "bob", HOSTILE_NAME]  # zed failed to grade
    item = index.item("alice", "1.4")
    assert item is not None and item.points == 8 and item.max_points == 10
    assert item.markdown == [ALICE_ANSWER] and item.figures and item.code
    bob = index.item("bob", "1.4")
    assert bob is not None and bob.markdown == ["I did not finish."]  # no prompt, no heading
    assert index.item("zed", "1.4") is None


@pytest.fixture
def server(graded_class: Path) -> Iterator[ReviewServer]:
    with serving_review(graded_class, "ta-anna") as review:
        yield review


def request(server: ReviewServer, method: str, path: str, body: dict | None = None,
            host: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = urlencode(body).encode() if body is not None else None
    headers = {"Host": host or f"127.0.0.1:{server.port}"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, dict(response.getheaders()), text


def test_review_page_without_or_with_a_wrong_token_is_403(server: ReviewServer) -> None:
    assert request(server, "GET", "/review")[0] == 403
    assert request(server, "GET", "/review?token=guess")[0] == 403
    page = urlsplit(server.url)
    assert request(server, "GET", f"{page.path}?{page.query}")[0] == 200
    assert request(server, "GET", f"{page.path}?{page.query}", host="evil.example:80")[0] == 403
    save = {"q": "1.4", "s": "alice", "points": "8", "comment": ""}
    assert request(server, "POST", "/save", save)[0] == 403
    assert request(server, "POST", "/save", {**save, "token": "guess"})[0] == 403


def test_review_page_shows_answer_math_figure_code_and_rubric(server: ReviewServer) -> None:
    page = urlsplit(server.url)
    status, headers, html = request(server, "GET", f"{page.path}?{page.query}")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "<math" in html and "data:image/png;base64," in html
    assert "# alice&#39;s code for 1.4" in html and "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "plot_matrix_grid(W2.reshape(1, 1, 4))" in html  # the model answer


def test_hostile_answer_and_name_are_inert_on_the_review_page(server: ReviewServer) -> None:
    query = urlencode({"token": server.token, "q": "1.4", "s": HOSTILE_NAME})
    status, _, html = request(server, "GET", f"/review?{query}")
    assert status == 200
    tags = tags_of(html)
    scripts = [a for t, a in tags if t == "script"]
    assert len(scripts) == 1 and scripts[0].get("nonce")  # the page's own, with its nonce
    assert all(t != "img" or str(a.get("src", "")).startswith("data:image/png;base64,")
               for t, a in tags)
    assert not [a for _, a in tags for k in a if k.startswith("on")]


def test_saving_points_updates_gradebook_csv_report_and_dashboard(
        server: ReviewServer, graded_class: Path) -> None:
    form = {"token": server.token, "q": "1.4", "s": "bob", "points": "6.5",
            "comment": "filters plotted, no weight <b>plot</b>"}
    status, headers, _ = request(server, "POST", "/save", form)
    assert status == 303 and "s=" + HOSTILE_NAME[:7] in headers["Location"]  # the next student
    [grade] = manual_grades(graded_class)
    assert (grade.student, grade.question, grade.points, grade.grader) == ("bob", "1.4", 6.5,
                                                                           "ta-anna")
    rows = {r["student"]: r for r in csv.DictReader((graded_class / "grades.csv").open())}
    assert rows["bob"]["1.4"] == "8.5" and rows["bob"]["pending_manual"] == "0"
    report = (graded_class / "bob.html").read_text()
    assert "filters plotted, no weight &lt;b&gt;plot&lt;/b&gt;" in report
    result = json.loads((graded_class / "bob.json").read_text())
    assert result["pending_manual"] == 0
    dashboard = (graded_class / "index.html").read_text()
    assert ">16</b>manual points pending" in dashboard  # 24 - bob's 8
    status, _, html = request(server, "GET", "/review?" + urlencode(
        {"token": server.token, "q": "1.4", "s": "bob"}))
    assert "6.5 by ta-anna at" in html and 'value="6.5"' in html


def test_points_out_of_range_are_refused_with_a_reason(server: ReviewServer,
                                                       graded_class: Path) -> None:
    form = {"token": server.token, "q": "1.4", "s": "alice", "points": "9", "comment": ""}
    status, _, html = request(server, "POST", "/save", form)
    assert status == 400 and "Not saved" in html and "outside 0 to 8" in html
    assert manual_grades(graded_class) == []


def test_review_links_carry_the_token_and_reach_every_student(server: ReviewServer) -> None:
    page = urlsplit(server.url)
    _, _, html = request(server, "GET", f"{page.path}?{page.query}")
    hrefs = [a["href"] for t, a in tags_of(html) if t == "a" and a.get("href")]
    assert hrefs and all(f"token={server.token}" in h for h in hrefs)
    students = {s for h in hrefs for s in [dict(p.split("=", 1) for p in
                                                urlsplit(h).query.split("&"))["s"]]}
    assert {safe_name(s) for s in students} >= {"alice", "bob"}


def test_a_notebook_that_now_fails_to_grade_has_nothing_left_to_review(
        graded_class: Path, lab9_rubric: Rubric) -> None:
    from classroom import failed_result

    from grader.store import Gradebook, Provenance

    with Gradebook(graded_class) as gradebook:
        gradebook.record_result(failed_result(lab9_rubric, "alice"), "", Provenance("", "", "t"))
    index = ReviewIndex(graded_class)
    assert "alice" not in index.students["1.4"] and index.item("alice", "1.4") is None


def test_override_from_the_review_page_needs_a_reason_and_updates_the_outputs(
        server: ReviewServer, graded_class: Path) -> None:
    from grader.manual import overrides

    form = {"token": server.token, "q": "1.4", "s": "bob", "points": "10", "reason": ""}
    status, _, html = request(server, "POST", "/override", form)
    assert status == 400 and "Not saved" in html and overrides(graded_class) == []
    form["reason"] = "regrade request: the plots were in the appendix"
    status, headers, _ = request(server, "POST", "/override", form)
    assert status == 303 and "s=bob" in headers["Location"]  # stays on the student
    [entry] = overrides(graded_class)
    assert (entry.student, entry.question, entry.points, entry.grader) == ("bob", "1.4", 10.0,
                                                                           "ta-anna")
    rows = {r["student"]: r for r in csv.DictReader((graded_class / "grades.csv").open())}
    assert rows["bob"]["1.4"] == "10"
    _, _, page = request(server, "GET", "/review?" + urlencode(
        {"token": server.token, "q": "1.4", "s": "bob"}))
    assert "regrade request: the plots were in the appendix" in page


def test_review_of_a_folder_without_a_gradebook_says_so_and_exits_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner().invoke(main, ["review", str(tmp_path), "--no-browser"])
    assert result.exit_code == 2 and "no gradebook.sqlite here" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_hw2_manual_items_are_walked_question_by_question(tmp_path: Path) -> None:
    from conftest import RUBRICS

    from grader.rubric import load_rubric

    out = build_class(tmp_path / "hw2", load_rubric(RUBRICS / "hw2.yaml"))
    index = ReviewIndex(out)
    assert [q.question_id for q in index.questions] == ["1.2.4", "1.2.6", "1.3", "2.2.1", "3.2"]
    review = ReviewServer(out, grader="ta")
    thread = threading.Thread(target=review.serve_forever, daemon=True)
    thread.start()
    try:
        query = urlencode({"token": review.token, "q": "1.3", "s": "bob"})
        _, _, html = request(review, "GET", f"/review?{query}")
    finally:
        review.shutdown()
        thread.join(5)
    links = {a["id"]: str(a["href"]) for t, a in tags_of(html) if t == "a" and a.get("id")}
    assert "q=2.2.1&s=alice" in links["nav-next-q"] and "q=1.2.6&s=alice" in links["nav-prev-q"]
    assert "q=1.3&s=mallory" in links["nav-next"] and "q=1.3&s=alice" in links["nav-prev"]


def test_scored_sections_keep_only_the_students_writing_for_every_report() -> None:
    from grader.handout import keep_student_text
    from grader.results import SectionRecord

    handout = load_handout(ROOT / "rubrics/handouts/hw2.ipynb")
    prompt = next(m for m in handout.markdown if m.startswith("Recall Harris corner"))
    record = SectionRecord("1.3", [], markdown=[prompt, "(Your proof here)", "My proof."])
    assert keep_student_text(record, handout).markdown == ["My proof."]
    assert record.markdown[0] == prompt  # a copy: the execution's record is left alone
    assert keep_student_text(record, None) is record


def test_after_a_grade_the_next_ungraded_student_then_question_comes(tmp_path: Path) -> None:
    from conftest import RUBRICS

    from grader.review.server import next_ungraded
    from grader.rubric import load_rubric

    index = ReviewIndex(build_class(tmp_path / "hw2", load_rubric(RUBRICS / "hw2.yaml")))
    mallory = HOSTILE_NAME
    assert next_ungraded(index, {}, "1.3", "alice") == ("1.3", "bob")
    graded = {("alice", "1.3"): 1, ("bob", "1.3"): 1, (mallory, "1.3"): 1}
    assert next_ungraded(index, graded, "1.3", "alice") == ("2.2.1", "alice")
    graded = {(s, q.question_id): 1 for q in index.questions for s in ("alice", "bob", mallory)}
    assert next_ungraded(index, graded, "1.3", "bob") == ("1.3", mallory)  # all done: next
