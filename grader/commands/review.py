"""`grade review OUT [--port N] [--no-browser] [--grader NAME]`: grade the manual items of a class
in the browser (grader/review/server.py), until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("review", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option("--grader", "grader", help="Who is grading, recorded with each grade "
              "(default: $USER).")
def review(out: Path, port: int, no_browser: bool, grader: str | None) -> None:
    """Serve the manual items of the class graded into OUT, question by question across the
    class, on 127.0.0.1 with a token in the URL. Points entered go into OUT/gradebook.sqlite at
    once and the reports, grades.csv, Gradescope files and index.html are written again (no
    notebook is executed)."""
    from grader.cli import UsageProblem
    from grader.review.server import ReviewServer

    try:
        server = ReviewServer(out, grader or "", port)
    except (ValueError, OSError) as exc:
        raise UsageProblem(str(exc)) from None
    if not server.index.questions:
        raise UsageProblem(f"{out}: no manual item to review (the rubric has no manual part, or "
                           "no notebook was graded)")
    items = sum(len(s) for s in server.index.students.values())
    click.echo(f"Reviewing {items} manual item(s) of {server.index.assignment} in {out} as "
               f"{server.grader}.\nOpen {server.url}\n(Ctrl-C stops the server.)")
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped; every grade entered is in the gradebook")
    finally:
        server.shutdown()
