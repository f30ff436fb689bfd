"""Write the example student notebooks from their sources in submissions/src/, or check them.

    python submissions/build.py           # write every notebook whose text changed
    python submissions/build.py --check   # write nothing; exit 1 listing each stale notebook
    python submissions/build.py --check --notebooks DIR   # the same, for copies kept in DIR

The sources are one handout template per assignment and one file of answers per example student
(see submissions/src/README.md); `examples.py` turns them into notebooks:

Lab 9 (Convolutional Neural Networks), in submissions/:
  alice.ipynb         fully correct
  handout_lab9.ipynb  the handout's own answers verbatim, mistakes included
  bob.ipynb           never builds the 4-filter model
  carol.ipynb         like alice, but both 1.3 training loops use lr=0.5
  dan.ipynb           odd but correct: 4 filters already in 1.2, other names, nn.Module in 2.2

hw2 (PCA, KNN, softmax regression, CNN), in submissions/hw2/:
  erin.ipynb          fully correct
  handout_hw2.ipynb   the handout's own answers verbatim, mistakes included

Notebooks are saved without outputs and with deterministic cell ids, so the same sources always
give byte-identical files. Exit status: 0 when done (or all current), 1 when `--check` found a
stale notebook, 2 when a source file has a mistake (the message names its file and line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import examples  # run as a script, this folder is on sys.path

REPO = Path(__file__).resolve().parent.parent


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def write_notebooks(expected: dict[Path, str]) -> list[Path]:
    """Write each notebook whose file is missing or differs; return those written."""
    written = []
    for path, text in expected.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the example notebooks from "
                                                 "submissions/src/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every stale notebook")
    parser.add_argument("--notebooks", type=Path, default=examples.HERE, metavar="DIR",
                        help="where the notebooks are (Lab 9's in DIR, hw2's in DIR/hw2); "
                             "default: submissions/")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = examples.stale_notebooks(args.notebooks)
            for path, why in stale:
                print(f"{shown(path)}: {why}")
            if stale:
                print(f"{len(stale)} stale notebook(s): run `python submissions/build.py`",
                      file=sys.stderr)
            if not stale:
                print("every example notebook is current")
            return 1 if stale else 0
        written = write_notebooks(examples.expected_notebooks(args.notebooks))
    except examples.SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {shown(path)}")
    if not written:
        print("every example notebook is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
