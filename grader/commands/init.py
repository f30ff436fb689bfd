"""`grade init SOLUTION.ipynb [--out rubric.yaml]`: draft a rubric from the instructor's solution.

Exit status: 0 drafted, 2 unusable input (no such notebook, an existing --out without --force).
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.options import InitOptions


@click.command("init", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("solution", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the draft here (default: print it).")
@click.option("--reference", default="reference.py", show_default=True,
              help="The reference module the draft names (a path relative to the rubric).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(**flags) -> None:
    """Draft a rubric from SOLUTION: one question per heading whose section holds code, one
    value_matches or function_matches per name the section binds, points to fill in. Then edit it
    and run `grade validate`."""
    from grader.cli import UsageProblem
    from grader.draft import draft_rubric
    from grader.notebook import NotebookError, load_notebook

    options = InitOptions(**flags)
    if options.out is not None and options.out.exists() and not options.force:
        raise UsageProblem(f"{options.out} exists; pass --force to overwrite it")
    try:
        nb = load_notebook(options.solution).nb
    except NotebookError as exc:
        raise UsageProblem(str(exc)) from None
    text = draft_rubric(options.solution, nb, options.reference)
    if options.out is None:
        click.echo(text)
        return
    options.out.write_text(text + "\n", encoding="utf-8")
    click.echo(f"drafted {options.out}: fill in the points and the reference functions, then "
               f"run `grade validate {options.out}`", err=True)
