"""`grade override OUT STUDENT QUESTION POINTS --reason TEXT [--remove]`: a person sets a whole
question's points (a regrade request, a judgement the checks cannot make), kept with who, when and
why across regrades; the outputs are written again."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("override", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("student")
@click.argument("question")
@click.argument("points", type=float, required=False)
@click.option("--reason", required=True, help="Why (kept, shown in both reports).")
@click.option("--grader", "grader", help="Who decided (default: $USER).")
@click.option("--remove", is_flag=True, help="Withdraw the standing override instead.")
def override(out: Path, student: str, question: str, points: float | None, reason: str,
             grader: str | None, remove: bool) -> None:
    """Set STUDENT's points for QUESTION in the class graded into OUT to POINTS."""
    from grader.cli import UsageProblem
    from grader.manual import default_grader, record_override, remove_override

    who = grader or default_grader()
    try:
        if remove:
            remove_override(out, student, question, reason, who)
            click.echo(f"{student}, question {question}: override removed ({who})")
            return
        if points is None:
            raise UsageProblem("POINTS is required (or --remove)")
        entry = record_override(out, student, question, points, reason, who)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"{student}, question {question}: {entry.points:g} points ({entry.grader}, "
               f"{entry.at}: {entry.reason}); outputs in {out} updated")
