"""`grade`: the command line. Parses options into one `GradeOptions`, calls `run_batch`, prints.

`grade NOTEBOOKS...` grades (the default subcommand, `run`); other subcommands live in
grader/commands/ and are imported only when named (`SUBCOMMANDS`). Heavy modules (the pipeline,
torch) are imported only once the arguments are valid, so `grade --help` and input errors answer at
once. Exit status: 0 all graded (or unchanged), 1 some notebook failed to grade, 2 unusable input
(no such file, a rubric error with its file, line and column, a bad --data folder), 3 some question
could not be checked for a reason on the instructor's side (left out of the scores, named).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from grader import __version__
from grader.options import DEFAULT_CACHE, GradeOptions

EXIT_UNUSABLE = 2


# name -> "module:attribute" of a click command, imported only when that subcommand is named
SUBCOMMANDS: dict[str, str] = {
    "init": "grader.commands.init:init",
    "validate": "grader.commands.validate:validate",
    "manual": "grader.commands.manual:manual",
    "override": "grader.commands.override:override",
    "release": "grader.commands.release:release",
    "gradescope-bundle": "grader.commands.gradescope_bundle:gradescope_bundle",
    "review": "grader.commands.review:review",
}


class UsageProblem(click.ClickException):
    exit_code = EXIT_UNUSABLE


class GradeGroup(click.Group):
    """`grade NOTEBOOKS...` means `grade run NOTEBOOKS...`; subcommands load lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.commands, *SUBCOMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in SUBCOMMANDS:
            module, attribute = SUBCOMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        wants_group = not args or args[0] in ("-h", "--help", "--version")
        if not wants_group and (first is None or first not in self.list_commands(ctx)):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="grade")
def main() -> None:
    """Grade machine-learning notebook assignments: `grade NOTEBOOKS...` grades (see `grade run
    --help`); the other commands validate rubrics and handle what comes after grading."""


@main.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rubric", "rubric_path", type=click.Path(path_type=Path),
              help="Rubric YAML, anywhere (default: detected from the notebook's headings "
                   "among the rubrics/*.yaml that load).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), help="Folder with MNIST IDX "
              "files (default: scikit-learn's bundled digits resized to 28x28, offline).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Where <student>.json / .html, gradebook.sqlite, grades.csv, gradescope/ and "
                   ".cache/ are written (default: grades/<assignment>).")
@click.option("--cell-timeout", type=float, help="Seconds per cell (overrides the rubric).")
@click.option("--notebook-timeout", type=float, help="Seconds per notebook (overrides the rubric).")
@click.option("--train-limit", type=int, help="Use only the first N training images (quick runs).")
@click.option("--cache", "reference_cache", type=click.Path(path_type=Path),
              default=DEFAULT_CACHE, show_default=True,
              help="Cache for reference results (calibration runs).")
@click.option("--unsafe-no-sandbox", is_flag=True, help="Run student code without confinement "
              "(only for trusted notebooks, or machines without bubblewrap).")
@click.option("--workers", type=click.IntRange(min=1), help="Notebooks graded at once, each in "
              "its own worker process and kernel (default: one per core).")
@click.option("--force", is_flag=True, help="Grade again even submissions unchanged since the "
              "gradebook's row (with --rescore: re-execute those that cannot be re-scored).")
@click.option("--rescore", is_flag=True, help="Score again from the cached executions, running no "
              "notebook: for a rubric whose points or thresholds changed. Refused (exit 2) when a "
              "change alters what the checks ask of the notebooks.")
@click.option("--dask", metavar="ADDRESS", help="Run on Dask: a scheduler address "
              "(tcp://host:8786), or 'local' for a local cluster of --workers processes.")
@click.option("--identity", type=click.Choice(["file", "folder"]), help="Student name from the "
              "file (alice.ipynb) or its folder (alice/hw2.ipynb); default: folder when the "
              "notebook is below the folder given, else file.")
@click.option("--roster", type=click.Path(path_type=Path), help="CSV with a 'student' column: "
              "missing submissions are reported and listed in grades.csv.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the final counts and what went "
              "wrong (no progress, no tables).")
@click.option("--no-warm", "warm", is_flag=True, default=True, flag_value=False,
              help="In a class, do not start each worker's next kernel ahead.")
@click.option("--debug", is_flag=True, help="Show tracebacks of grader errors.")
def run(notebooks: tuple[Path, ...], unsafe_no_sandbox: bool, debug: bool, **flags) -> None:
    """Grade NOTEBOOKS (files, folders or globs of .ipynb) and write a JSON and an HTML report for
    each, a gradebook, grades.csv and Gradescope results. A folder, a glob or several notebooks
    grade a class in parallel, skipping what is unchanged since the last run.

    Exit status: 0 all graded (or unchanged), 1 some notebook failed to grade, 2 unusable input,
    3 some question is a grader problem (left out of the scores until the rubric or reference is
    fixed).
    """
    options = GradeOptions(paths=notebooks, confine=not unsafe_no_sandbox, **flags)
    try:
        from grader.batch.discover import BatchInputError, discover

        discover(options.paths, options.identity)  # a mistyped path answers before any import
        from grader.batch.progress import print_run
        from grader.batch.run import run_batch

        summary = run_batch(options)
    except BatchInputError as exc:
        raise UsageProblem(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted: what was graded is in the gradebook; run the same command "
                   "again to go on", err=True)
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        raise UsageProblem(f"{type(exc).__name__}: {exc} (rerun with --debug for details)"
                           ) from None
    print_run(summary, options)
    sys.exit(summary.exit_code)


if __name__ == "__main__":
    main()
