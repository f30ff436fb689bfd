"""`grade gradescope-bundle RUBRIC --to DIR [--data DIR] [--sandbox]`: the autograder Gradescope
runs (grader/gradescope_bundle.py)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("gradescope-bundle", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("rubric", type=click.Path(path_type=Path))
@click.option("--to", "to", type=click.Path(path_type=Path), required=True,
              help="A new folder: setup.sh, run_autograder, the grader's source, autograder.zip.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="MNIST IDX folder to ship with the bundle (default: the bundled digits).")
@click.option("--sandbox", is_flag=True, help="Keep bubblewrap confinement inside Gradescope's "
              "container (needs user namespaces there; off by default: the container isolates).")
def gradescope_bundle(rubric: Path, to: Path, data_dir: Path | None, sandbox: bool) -> None:
    """Write an autograder for RUBRIC: upload DIR/autograder.zip as the assignment's
    autograder on Gradescope. Each submission's notebook is graded and its results.json (student
    sentences only, manual points stated as pending) handed back."""
    from grader.cli import UsageProblem
    from grader.gradescope_bundle import write_bundle
    from grader.rubric import RubricError

    try:
        bundle = write_bundle(rubric, to, data_dir, sandbox)
    except (ValueError, RubricError, OSError) as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"wrote {bundle.zip_path} (rubric {bundle.rubric_in_bundle}); upload it as the "
               "assignment's autograder on Gradescope")
