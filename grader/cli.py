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
    """Expand folders (their *.ipynb, or <student>/*.ipynb) and check every file exists."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            direct = sorted(x for x in p.glob("*.ipynb") if not x.name.startswith("."))
            nested = sorted(x for x in p.glob("*/*.ipynb")
                            if not x.name.startswith(".") and ".ipynb_checkpoints" not in x.parts)
            found += direct or nested
        elif p.exists():
            found.append(p)
        else:
            raise UsageProblem(f"{p}: no such file or folder")
    if not found:
        raise UsageProblem("no .ipynb notebooks found in " + ", ".join(map(str, paths)))
    return found


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
              show_default=True, help="Where <student>.json and <student>.html are written.")
@click.option("--cell-timeout", type=float, help="Seconds per cell (overrides the rubric).")
@click.option("--notebook-timeout", type=float, help="Seconds per notebook (overrides the rubric).")
@click.option("--train-limit", type=int, help="Use only the first N training images (quick runs).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path),
              default=Path.home() / ".cache" / "nbgrade-ml", show_default=True,
              help="Cache for reference results (calibration runs).")
@click.option("--unsafe-no-sandbox", is_flag=True, help="Run student code without confinement "
              "(only for trusted notebooks, or machines without bubblewrap).")
@click.option("--debug", is_flag=True, help="Show tracebacks of grader errors.")
def main(notebooks: tuple[Path, ...], rubric: Path | None, data_dir: Path | None, out_dir: Path,
         cell_timeout: float | None, notebook_timeout: float | None, train_limit: int | None,
         cache_dir: Path, unsafe_no_sandbox: bool, debug: bool) -> None:
    """Grade NOTEBOOKS (files or folders of .ipynb) and write a JSON and an HTML report for each."""
    try:
        run(notebooks, rubric, data_dir, out_dir, cell_timeout, notebook_timeout, train_limit,
            cache_dir, unsafe_no_sandbox)
    except click.ClickException:
        raise
    except Exception as exc:
        if debug:
            raise
        raise UsageProblem(f"{type(exc).__name__}: {exc} (rerun with --debug for details)")


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
        from grader.sandbox.confine import confinement_available

        problem = confinement_available()
        if problem:
            raise UsageProblem(f"cannot confine student code: {problem}. Install bubblewrap "
                               "(./setup.sh does) or pass --unsafe-no-sandbox for trusted "
                               "notebooks only.")
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
