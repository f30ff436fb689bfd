"""The class dashboard OUT/index.html, from a class graded in code (no kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from classroom import HOSTILE_NAME, build_class, tags_of

from grader.report import safe_name
from grader.report.dashboard import class_view, histogram
from grader.rubric import Rubric
from grader.store import Gradebook


@pytest.fixture
def graded_class(tmp_path: Path, lab9_rubric: Rubric) -> Path:
    return build_class(tmp_path / "lab9", lab9_rubric)


def test_dashboard_is_written_with_every_student_linked_to_an_existing_report(
        graded_class: Path) -> None:
    html = (graded_class / "index.html").read_text()
    links = [a["href"] for tag, a in tags_of(html) if tag == "a"]
    assert sorted(set(links)) == sorted([*(f"{safe_name(s)}.html"
                                           for s in ("alice", "bob", HOSTILE_NAME, "zed")),
                                         "grades.csv"])
    assert all((graded_class / link).is_file() for link in links)


def test_hostile_student_name_and_failure_reason_are_text_not_html(graded_class: Path) -> None:
    html = (graded_class / "index.html").read_text()
    scripts = [t for t, _ in tags_of(html) if t == "script"]
    assert len(scripts) == 1  # the page's own table sorter, nothing from a student
    assert not any(tag == "img" or any(k.startswith("on") for k in attrs)
                   for tag, attrs in tags_of(html))
    assert "mallory&lt;img src=x onerror=" in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html


def test_dashboard_needs_no_network(graded_class: Path) -> None:
    html = (graded_class / "index.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "default-src 'none'" in html  # and the page says so to the browser


def test_question_most_students_missed_is_marked(graded_class: Path) -> None:
    with Gradebook(graded_class) as gradebook:
        view = class_view(gradebook)
    hardest = [q.question_id for q in view.questions if q.hardest]
    assert hardest == ["1.3"]  # 1.3 and 2.2 both missed once: the first is shown
    html = (graded_class / "index.html").read_text()
    assert re.search(r'<tr class="hardest">\s*<td>1\.3</td>', html)


def test_failed_notebook_listed_with_reason_and_left_out_of_rates(graded_class: Path) -> None:
    with Gradebook(graded_class) as gradebook:
        view = class_view(gradebook)
    assert [s.student for s in view.failed] == ["zed"]
    assert len(view.graded) == 3
    assert all(sum(q.counts.values()) == 3 for q in view.questions)
    assert view.pending_manual == 24  # 8 points of 1.4 for each of the three graded


def test_histogram_puts_full_marks_in_the_last_band() -> None:
    bars = histogram([0.0, 55.0, 100.0, 100.0])
    assert [b.count for b in bars] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]
