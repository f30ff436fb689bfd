"""`grade`: the command line. Parses options, builds the configuration, calls the pipeline, prints.

Heavy modules (torch, the pipeline) are imported only once arguments are valid, so `grade --help`
and input errors answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

RUBRICS_DIR = Path(__file__).resolve().parents[1] / "rubrics"
EXIT_UNUSABLE = 2


class UsageProblem(click.ClickException):
    exit_code = EXIT_UNUSABLE


def find_notebooks(paths: tuple[Path, ...]) -> list[Path]:
    """Expand folders (their *.ipynb, or <student>/*.ipynb), globs and files; check they exist."""
    from grader.batch import BatchInputError, discover

    try:
        return [s.path for s in discover(paths)]
    except BatchInputError as exc:
        raise UsageProblem(str(exc)) from None


def is_batch(paths: tuple[Path, ...]) -> bool:
    """A class rather than one notebook: several paths, a folder, or a glob."""
    return len(paths) > 1 or any(p.is_dir() or (not p.exists() and any(c in str(p) for c in "*?["))
                                 for p in paths)


def detect_rubric(notebook: Path) -> Path:
    """The shipped rubric whose question headings this notebook contains most of."""
    from grader.notebook import NotebookError, load_notebook, locate_sections
    from grader.rubric import load_rubric

    try:
        nb = load_notebook(notebook).nb
    except NotebookError as exc:
        raise UsageProblem(f"{exc} (and no --rubric given to say which assignment it is)")
    best, best_found = None, 0
    for path in sorted(RUBRICS_DIR.glob("*.yaml")):
        rubric = load_rubric(path)
        found = sum(s.found for s in locate_sections(nb, rubric.questions))
        if found > best_found:
            best, best_found = path, found
    if best is None:
        raise UsageProblem(f"{notebook}: none of the rubrics in {RUBRICS_DIR} matches its "
                           "headings; pass --rubric")
    return best


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rubric", type=click.Path(path_type=Path), help="Rubric YAML (default: detected "
              "from the notebook's headings among rubrics/*.yaml).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), help="Folder with MNIST IDX "
              "files (default: scikit-learn's bundled digits resized to 28x28, offline).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("grades"),
              show_default=True, help="Where <student>.json and <student>.html are written; for a "
              "class also gradebook.sqlite, grades.csv, gradescope/ and .cache/.")
@click.option("--cell-timeout", type=float, help="Seconds per cell (overrides the rubric).")
@click.option("--notebook-timeout", type=float, help="Seconds per notebook (overrides the rubric).")
@click.option("--train-limit", type=int, help="Use only the first N training images (quick runs).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path),
              default=Path.home() / ".cache" / "nbgrade-ml", show_default=True,
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
@click.option("--dask", "dask_address", metavar="ADDRESS", help="Run on Dask: a scheduler address "
              "(tcp://host:8786), or 'local' for a local cluster of --workers processes.")
@click.option("--identity", type=click.Choice(["file", "folder"]), help="Student name from the "
              "file (alice.ipynb) or its folder (alice/hw2.ipynb); default: folder when the "
              "notebook is below the folder given, else file.")
@click.option("--roster", type=click.Path(path_type=Path), help="CSV with a 'student' column: "
              "missing submissions are reported and listed in grades.csv.")
@click.option("--debug", is_flag=True, help="Show tracebacks of grader errors.")
def main(notebooks: tuple[Path, ...], rubric: Path | None, data_dir: Path | None, out_dir: Path,
         cell_timeout: float | None, notebook_timeout: float | None, train_limit: int | None,
         cache_dir: Path, unsafe_no_sandbox: bool, workers: int | None, force: bool,
         rescore: bool, dask_address: str | None, identity: str | None, roster: Path | None,
         debug: bool) -> None:
    """Grade NOTEBOOKS (files, folders or globs of .ipynb) and write a JSON and an HTML report for
    each. A folder, a glob or several notebooks grade a class: in parallel, into OUT's
    gradebook.sqlite, grades.csv and gradescope/, skipping what is unchanged since the last run.

    Exit status: 0 all graded (or unchanged), 1 some notebook failed to grade, 2 unusable input.
    """
    batch_options = (workers, force or None, rescore or None, dask_address, identity, roster)
    try:
        if is_batch(notebooks) or any(o is not None for o in batch_options):
            run_class(notebooks, rubric, data_dir, out_dir, cell_timeout, notebook_timeout,
                      train_limit, cache_dir, unsafe_no_sandbox, workers, force, rescore,
                      dask_address, identity, roster)
        else:
            run(notebooks, rubric, data_dir, out_dir, cell_timeout, notebook_timeout,
                train_limit, cache_dir, unsafe_no_sandbox)
    except click.ClickException:
        raise
    except Exception as exc:
        if debug:
            raise
        raise UsageProblem(f"{type(exc).__name__}: {exc} (rerun with --debug for details)")


def check_sandbox() -> None:
    from grader.sandbox.confine import confinement_available

    problem = confinement_available()
    if problem:
        raise UsageProblem(f"cannot confine student code: {problem}. Install bubblewrap "
                           "(./setup.sh does) or pass --unsafe-no-sandbox for trusted "
                           "notebooks only.")


def run_class(notebooks: tuple[Path, ...], rubric_path: Path | None, data_dir: Path | None,
              out_dir: Path, cell_timeout: float | None, notebook_timeout: float | None,
              train_limit: int | None, cache_dir: Path, unsafe_no_sandbox: bool,
              workers: int | None, force: bool, rescore: bool, dask_address: str | None,
              identity: str | None, roster: Path | None) -> None:
    """Grade a class (grader/batch.py) and exit with its status."""
    from rich.console import Console

    from grader.batch import BatchInputError, BatchOptions, discover, print_summary, run_batch

    try:
        submissions = discover(notebooks, identity)  # type: ignore[arg-type]
    except BatchInputError as exc:
        raise UsageProblem(str(exc)) from None
    if rubric_path is None:
        rubric_path = detect_class_rubric([s.path for s in submissions])
    if not unsafe_no_sandbox and not dask_address and (force or not rescore):
        check_sandbox()  # (Dask workers are checked where they run)
    options = BatchOptions(
        paths=notebooks, rubric_path=rubric_path, out_dir=out_dir, data_dir=data_dir,
        train_limit=train_limit, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
        reference_cache=cache_dir, confine=not unsafe_no_sandbox, workers=workers, force=force,
        rescore=rescore, dask=dask_address, identity=identity,  # type: ignore[arg-type]
        roster=roster,
    )
    try:
        summary = run_batch(options, Console(stderr=True))
    except BatchInputError as exc:
        raise UsageProblem(str(exc)) from None
    except KeyboardInterrupt:
        click.echo(f"interrupted: what was graded is in {out_dir / 'gradebook.sqlite'}; "
                   "run the same command again to go on", err=True)
        sys.exit(130)
    print_summary(summary, Console(width=140))
    sys.exit(summary.exit_code)


def detect_class_rubric(paths: list[Path]) -> Path:
    """The rubric detected from the first notebook that can be read."""
    problem = None
    for path in paths:
        try:
            return detect_rubric(path)
        except UsageProblem as exc:
            problem = problem or exc
    raise problem or UsageProblem("no notebook to detect the rubric from; pass --rubric")


def run(notebooks: tuple[Path, ...], rubric_path: Path | None, data_dir: Path | None,
        out_dir: Path, cell_timeout: float | None, notebook_timeout: float | None,
        train_limit: int | None, cache_dir: Path, unsafe_no_sandbox: bool) -> None:
    from grader.data import DataError, load_data
    from grader.rubric import RubricError, load_rubric

    paths = find_notebooks(notebooks)
    try:
        rubric = load_rubric(rubric_path or detect_rubric(paths[0]))
    except RubricError as exc:
        raise UsageProblem(str(exc))
    try:
        data = load_data(data_dir, train_limit=train_limit)
    except (DataError, OSError) as exc:
        raise UsageProblem(f"--data: {exc}")
    confine = not unsafe_no_sandbox
    if confine:
        check_sandbox()
    from grader.pipeline import GradeConfig, grade_notebook
    from grader.report import write_reports

    config = GradeConfig(rubric=rubric, data=data, cache_dir=cache_dir, cell_timeout=cell_timeout,
                         notebook_timeout=notebook_timeout, confine=confine)
    click.echo(f"Grading {len(paths)} notebook(s) against {rubric.assignment} "
               f"({rubric_path or 'detected'}); data: {data.description}", err=True)
    fatal = 0
    for path in paths:
        result = grade_notebook(path, config)
        json_path, html_path = write_reports(result, out_dir)
        print_result(result)
        click.echo(f"  report: {html_path}   result: {json_path}", err=True)
        fatal += bool(result.fatal)
    if fatal and len(paths) == 1:
        sys.exit(1)


def print_result(result) -> None:
    from rich.console import Console
    from rich.table import Table

    colours = {"pass": "green", "partial": "yellow", "fail": "red", "error": "bold red",
               "manual": "cyan"}
    table = Table(title=f"{result.assignment} — {result.student}: "
                        f"{result.score:.1f} / {result.max_score:g}", title_justify="left")
    table.add_column("question")
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("first problem", overflow="fold")
    for q in result.questions:
        problem = next((c.message for c in q.checks if not c.passed and not c.informational), "")
        if not problem and q.section and q.section.not_run_reason:
            problem = q.section.not_run_reason
        table.add_row(q.id, f"[{colours[q.status]}]{q.status}[/]",
                      f"{q.points:.4g}/{q.max_points:g}", problem[:160])
    console = Console(width=140)
    console.print(table)
    if result.fatal:
        console.print(f"[bold red]could not grade:[/] {result.fatal}")
    if result.pending_manual:
        console.print(f"{result.pending_manual:g} points await manual review.")


if __name__ == "__main__":
    main()
