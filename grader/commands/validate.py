"""`grade validate [RUBRIC...] [--solution NOTEBOOK]`: is this rubric ready to grade anyone?

Exit status: 0 when every rubric is valid (and its solution earns every automatic point), 1 when one
is not, 2 for unusable input (no such file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.options import DEFAULT_CACHE, ValidateOptions

EXIT_INVALID = 1


@click.command("validate", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("rubrics", nargs=-1, type=click.Path(path_type=Path))
@click.option("--solution", type=click.Path(path_type=Path), help="The instructor's solution "
              "notebook (default: solution.ipynb next to the rubric, if there is one). Its "
              "headings and artifacts are checked and it is graded: it must earn every point.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="Folder with MNIST IDX files, as for grading.")
@click.option("--train-limit", type=int, help="Use only the first N training images.")
@click.option("--cell-timeout", type=float, help="Seconds per cell (overrides the rubric).")
@click.option("--cache", "reference_cache", type=click.Path(path_type=Path),
              default=DEFAULT_CACHE, show_default=True, help="Cache for reference results.")
@click.option("--unsafe-no-sandbox", is_flag=True, help="Run the solution without confinement.")
def validate(rubrics: tuple[Path, ...], unsafe_no_sandbox: bool, **flags) -> None:
    """Check RUBRIC files (default: every rubric in the grader's rubrics/; a folder: its rubrics)
    before they grade anyone: the schema, then the semantics with the reference module (functions
    and their parameters, ranges, points, data paths), then, with a solution notebook, its headings
    and artifacts, and finally grade the solution, which must earn every automatic point.

    Exit status: 0 valid, 1 some rubric is not, 2 unusable input.
    """
    from grader.cli import UsageProblem
    from grader.solution import rubric_files, validate_course

    options = ValidateOptions(rubrics=rubrics, confine=not unsafe_no_sandbox, **flags)
    try:
        paths = rubric_files(options.rubrics)
    except FileNotFoundError as exc:
        raise UsageProblem(str(exc)) from None
    if options.solution is not None and len(paths) != 1:
        raise UsageProblem(f"--solution belongs to one rubric; {len(paths)} were given")
    results = [validate_course(path, options) for path in paths]
    for result in results:
        click.echo(result.rubric)
        for sentence in result.passed:
            click.echo(f"  ok  {sentence}")
        for note in result.notes:
            click.echo(f"  --  {note}")
        for problem in result.problems:
            click.echo(f"  !!  {problem}")
        click.echo("valid" if result.ok else f"invalid: {len(result.problems)} problem(s)")
    sys.exit(0 if all(r.ok for r in results) else EXIT_INVALID)
