"""`grade release OUT --to FOLDER [--after-due]`: what each student may receive, one folder each."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("release", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Path(path_type=Path), required=True,
              help="Folder to write FOLDER/<student>/student.html and results.json into.")
@click.option("--after-due", is_flag=True, help="Show the checks marked `after_due` now "
              "(default: once the rubric's `due` has passed).")
def release(out: Path, to: Path, after_due: bool) -> None:
    """Write each student's report and Gradescope results.json for the class graded into OUT:
    their own work, points, statuses, check sentences without reference values, comments and
    override reasons; no model answer, reference value, hidden check's details, other student's
    data or path of this machine."""
    from grader.cli import UsageProblem
    from grader.release import release_class

    try:
        done = release_class(out, to, after_due)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"released {len(done.students)} student report(s) into {to}")
    for student, why in done.skipped:
        click.echo(f"  not released: {student}: {why}")
