"""`grade review OUT`: a local server for the manual items -> people's grades in OUT.

`ReviewServer(out, grader)` binds 127.0.0.1 only (a random free port unless one is asked for) and
makes a random token; every request must carry it (`?token=` on pages, a form field on saves), or
gets 403, like Jupyter's. GET /review?q=QUESTION&s=STUDENT shows one student's answer to one
question's manual part (grader/review/page.py); POST /save records the points and comment
(grader/review/ledger.py: the gradebook, that student's reports, grades.csv, Gradescope files and
the dashboard are written again, nothing executed) and goes on to the next ungraded item; POST
/override sets the whole question's points with a reason (a regrade request), the same way. One request at
a time (the gradebook is SQLite); pages are never cached and refuse to be framed.
"""

from __future__ import annotations

import hmac
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from grader.review import ledger
from grader.review.page import ReviewIndex, link, render_review

MAX_BODY = 64 * 1024


class ReviewServer:
    """The review server for one graded class folder; `serve_forever()` until `shutdown()`."""

    def __init__(self, out: Path, grader: str = "", port: int = 0,
                 token: str | None = None) -> None:
        self.out = out
        self.index = ReviewIndex(out)  # ValueError: not a graded folder
        self.grader = grader or ledger.default_grader()
        self.token = token or secrets.token_urlsafe(24)
        server = self

        class Handler(_Handler):
            review = server

        self.httpd = HTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]

    @property
    def url(self) -> str:
        first = self.index.questions[0].question_id if self.index.questions else ""
        students = self.index.students.get(first, [""])
        return f"http://127.0.0.1:{self.port}" + link(self.token, first, students[0])

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    review: ReviewServer
    server_version = "nbgrade-review"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        pass  # the URL carries the token: keep it out of logs and terminals

    # -- checks ---------------------------------------------------------------------------------
    def _allowed(self, token: str) -> bool:
        host = self.headers.get("Host", "")
        local = host in (f"127.0.0.1:{self.review.port}", f"localhost:{self.review.port}")
        return local and hmac.compare_digest(token.encode(), self.review.token.encode())

    def _forbid(self) -> None:
        self._send(HTTPStatus.FORBIDDEN, "403 Forbidden: open the URL `grade review` printed "
                   "(it carries the token).\n", "text/plain; charset=utf-8")

    # -- responses ------------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, body: str, kind: str = "text/html; charset=utf-8",
              location: str = "") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)

    def _page(self, question_id: str | None, student: str | None, message: str = "",
              error: str = "", status: HTTPStatus = HTTPStatus.OK) -> None:
        index = self.review.index
        question = index.question(question_id)
        if question is None:
            self._send(HTTPStatus.NOT_FOUND, "No manual item to review here.\n",
                       "text/plain; charset=utf-8")
            return
        students = index.students[question.question_id]
        student = student if student in students else students[0]
        grades = ledger.latest_grades(self.review.out)
        nonce = secrets.token_urlsafe(12)
        html = render_review(index, question, student, self.review.token, nonce, grades,
                             ledger.history(self.review.out, student, question.question_id),
                             ledger.standing_override(self.review.out, student,
                                                      question.question_id),
                             message, error)
        self._send(status, html)

    # -- routes ---------------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._allowed(query.get("token", [""])[0]):
            self._forbid()
            return
        if url.path in ("/", "/review"):
            self._page(query.get("q", [None])[0], query.get("s", [None])[0],
                       message=query.get("saved", [""])[0])
            return
        self._send(HTTPStatus.NOT_FOUND, "Not found.\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        action = urlsplit(self.path).path
        if action not in ("/save", "/override") or not 0 < length <= MAX_BODY:
            self._forbid()
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        if not self._allowed(form.get("token", [""])[0]):
            self._forbid()
            return
        question, student = form.get("q", [""])[0], form.get("s", [""])[0]
        text = form.get("comment" if action == "/save" else "reason", [""])[0]
        try:
            points = float(form.get("points", [""])[0])
            if action == "/save":
                entry = ledger.save_manual(self.review.out, student, question, points, text,
                                           self.review.grader)
            else:
                entry = ledger.save_override(self.review.out, student, question, points, text,
                                             self.review.grader)
        except ValueError as exc:
            self._page(question, student, error=f"Not saved: {exc}",
                       status=HTTPStatus.BAD_REQUEST)
            return
        what = "points" if action == "/save" else "points for the whole question (override)"
        saved = f"Saved {entry.points:g} {what} for {student} ({question}, by {entry.grader})."
        where = (question, student)  # an override stays; a grade goes on to the next ungraded
        if action == "/save":
            where = next_ungraded(self.review.index, ledger.latest_grades(self.review.out),
                                  question, student)
        location = link(self.review.token, *where) + "&" + urlencode({"saved": saved})
        self._send(HTTPStatus.SEE_OTHER, "", location=location)


def next_ungraded(index: ReviewIndex, grades: dict, question: str, student: str
                  ) -> tuple[str, str]:
    """(question, student) to show after `student`'s grade for `question` is saved: the next
    student of this question without a grade (after this one, wrapping round), else the first
    ungraded of the following questions, else simply the next student."""
    order = [q.question_id for q in index.questions]
    start = order.index(question) if question in order else 0
    for qid in order[start:] + order[:start]:
        students = index.students[qid]
        at = students.index(student) + 1 if qid == question and student in students else 0
        for name in students[at:] + (students[:at] if qid == question else []):
            if (name, qid) not in grades:
                return qid, name
    students = index.students.get(question, [student])
    at = students.index(student) if student in students else -1
    return question, students[(at + 1) % len(students)]
