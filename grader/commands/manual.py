"""`grade manual export OUT [--to FILE]` and `grade manual import FILE --out OUT [--grader NAME]`:
manual grades through a spreadsheet (grader/manual_csv.py); an import refreshes the outputs."""

from __future__ import annotations

from pathlib import Path

import click

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group("manual", context_settings=CONTEXT)
def manual() -> None:
    """Manual points for the questions a person grades, as a CSV to fill in."""


@manual.command("export", context_settings=CONTEXT)
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Path(path_type=Path), help="CSV file to write "
              "(default: standard output).")
def export(out: Path, to: Path | None) -> None:
    """One row per student and question graded by hand: the rubric's instructions, the maximum,
    and the points and comment recorded so far (empty: not graded yet)."""
    from grader.cli import UsageProblem
    from grader.manual_csv import export_csv

    try:
        text = export_csv(out)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if to is None:
        click.echo(text, nl=False)
    else:
        to.write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} manual item(s) to {to}", err=True)


@manual.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The graded class's folder (its gradebook.sqlite).")
@click.option("--grader", "grader", help="Who graded (default: $USER).")
def import_(file: Path, out: Path, grader: str | None) -> None:
    """Record the points and comments of FILE (as `grade manual export` writes it). Every row is
    checked first; with any bad row, each is listed as FILE:LINE and nothing is recorded. Then the
    reports, grades.csv and Gradescope files are written again (nothing is executed)."""
    from grader.cli import UsageProblem
    from grader.manual import default_grader, refresh_outputs
    from grader.manual_csv import ImportProblems, read_import
    from grader.store import Gradebook

    try:
        plan = read_import(file, out, grader or default_grader())
        with Gradebook(out) as gradebook:
            gradebook.add_manual_grades(plan.grades)
        refresh_outputs(out, sorted({g.student for g in plan.grades}))
    except ImportProblems as exc:
        raise UsageProblem(f"nothing recorded; fix these rows of {file}:\n{exc}") from None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"recorded {len(plan.grades)} manual grade(s); {plan.unchanged} unchanged, "
               f"{plan.blank} without points (not graded yet); outputs in {out} updated")
