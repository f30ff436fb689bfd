"""The fidelity corpus: correct solutions in styles other than the handout's, and subtle mutants,
graded on both data profiles; and the table in docs/fidelity.md.

    python -m submissions.fidelity                      # grade every case on both profiles and
                                                        # rewrite docs/fidelity.md
    python -m submissions.fidelity --assignment lab9 --profile digits   # a part, table on stdout

Takes the cases in submissions/src/fidelity/<assignment>/<case>.md (the example students' format,
submissions/src/README.md, with `lose:` listing the questions the case must lose points in; none
for a correct solution, which must earn every automatic point), builds their notebooks, grades
each (assignment, profile) as one class with `run_batch` (2 workers, the calibrations computed
once first) and returns each case's verdict: which questions lost points, and whether that is what
the case expects. tests/test_fidelity.py grades the same cases with the same settings.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from submissions import examples

REPO = Path(__file__).resolve().parent.parent
CORPUS = examples.SOURCES / "fidelity"
TABLE = REPO / "docs" / "fidelity.md"
WORKERS = 2


@dataclass(frozen=True)
class Profile:
    """A data profile the corpus is graded on, with the training sizes that keep it brief."""

    name: str
    data_dir: Path | None
    train_limit: dict[str, int | None]
    description: str


PROFILES = {
    "digits": Profile("digits", None, {"lab9": None, "hw2": 1000},
                      "the offline default (scikit-learn digits at 28x28): lab9 1,100 training "
                      "images, hw2 the first 1,000 (`--train-limit 1000`)"),
    "mnist": Profile("mnist", REPO.parent / "shared" / "data" / "mnist",
                     {"lab9": 2000, "hw2": 1000},
                     "`--data ../shared/data/mnist` (the 10,000-image test set, split 7,000 / "
                     "1,000 / 2,000): lab9 `--train-limit 2000`, hw2 `--train-limit 1000`"),
}


@dataclass(frozen=True)
class Case:
    assignment: str
    name: str
    about: str
    lose: tuple[str, ...]  # questions that must lose points; () for a correct solution

    @property
    def correct(self) -> bool:
        return not self.lose


@dataclass(frozen=True)
class CaseVerdict:
    case: Case
    profile: str
    lost: dict[str, float]  # question -> automatic points lost
    fatal: str = ""

    @property
    def as_expected(self) -> bool:
        return not self.fatal and set(self.lost) == set(self.case.lose)

    def cell(self) -> str:
        """What the table shows: the questions that lost points, or 'full marks'."""
        if self.fatal:
            return f"not graded: {self.fatal[:60]}"
        got = ", ".join(f"{q} −{p:g}" for q, p in self.lost.items()) or "full marks"
        return got if self.as_expected else f"**{got}** (unexpected)"


def cases(assignment: str) -> list[Case]:
    """The corpus cases of `assignment`, correct ones first, by name."""
    found = []
    for path in sorted((CORPUS / assignment).glob("*.md")):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1]) or {}
        lose = tuple(str(q) for q in meta.get("lose") or ())
        found.append(Case(assignment, path.stem, " ".join(str(meta.get("about", "")).split()),
                          lose))
    return sorted(found, key=lambda c: (not c.correct, c.name))


def answers(assignment: str, case: str) -> dict[str, str | None]:
    """A case's answers, slot by slot (as `examples.answers` gives an example student's)."""
    return examples.read_answers(CORPUS / assignment / f"{case}.md", examples.slots(assignment),
                                 with_given=True)


def write_corpus(assignment: str, folder: Path) -> list[Path]:
    """Build every case's notebook into `folder` (`<case>.ipynb`)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases(assignment):
        cells = examples.notebook_cells(assignment, answers(assignment, case.name))
        nb = examples.build_notebook(case.name, cells)
        path = folder / f"{case.name}.ipynb"
        nbformat.write(nb, str(path))
        paths.append(path)
    return paths


def judge(case: Case, profile: str, result: dict) -> CaseVerdict:
    """The verdict on one case from its result JSON: automatic points lost per question."""
    lost = {}
    for q in result.get("questions", []):
        auto_max = q["max_points"] - q.get("manual_points", 0)
        if q["points"] < auto_max - 1e-6:
            lost[q["id"]] = round(auto_max - q["points"], 4)
    return CaseVerdict(case, profile, lost, result.get("fatal", ""))


def grade_corpus(assignment: str, profile: Profile, workdir: Path, cache_dir: Path,
                 confine: bool = True) -> list[CaseVerdict]:
    """Grade every case of `assignment` on `profile` as one class; one verdict per case."""
    from rich.console import Console

    from grader.assignment import load_assignment
    from grader.batch.run import run_batch
    from grader.checks.accuracy import calibrate_all
    from grader.expected import Reference
    from grader.options import GradeOptions

    notebooks = workdir / "notebooks"
    write_corpus(assignment, notebooks)
    rubric_path = REPO / "rubrics" / f"{assignment}.yaml"
    limit = profile.train_limit[assignment]
    loaded = load_assignment(rubric_path.read_text(encoding="utf-8"), rubric_path,
                             profile.data_dir, limit)
    calibrate_all(loaded.rubric.questions, Reference(loaded.rubric.reference, loaded.data,
                                                     cache_dir))
    out = workdir / "grades"
    options = GradeOptions(paths=(notebooks,), out_dir=out, rubric_path=rubric_path,
                           data_dir=profile.data_dir, train_limit=limit,
                           reference_cache=cache_dir, confine=confine, workers=WORKERS,
                           force=True)
    run_batch(options, Console(file=io.StringIO()))
    verdicts = []
    for case in cases(assignment):
        path = out / f"{case.name}.json"
        result = json.loads(path.read_text()) if path.is_file() else {"fatal": "no result"}
        verdicts.append(judge(case, profile.name, result))
    return verdicts


def table(verdicts: list[CaseVerdict], seconds: dict[str, float]) -> str:
    """docs/fidelity.md: one row per case, one column per profile, and the totals."""
    profiles = [p for p in PROFILES if any(v.profile == p for v in verdicts)]
    by_case: dict[tuple[str, str], dict[str, CaseVerdict]] = {}
    for v in verdicts:
        by_case.setdefault((v.case.assignment, v.case.name), {})[v.profile] = v
    lines = ["# The fidelity corpus", "",
             ("Correct solutions in styles other than the handout's must earn every automatic "
             "point; subtle mutants must lose points in the question they break, and only "
             "there. Sources: `submissions/src/fidelity/<assignment>/<case>.md`; graded by "
             "`tests/test_fidelity.py` (`pytest -m fidelity`, which `.ci/run` runs). "
             "Regenerate this file with `python -m submissions.fidelity`."), "",
             "Data profiles:", ""]
    lines += [f"- **{p}**: {PROFILES[p].description}" for p in profiles]
    for assignment in dict.fromkeys(v.case.assignment for v in verdicts):
        lines += ["", f"## {assignment}", "",
                  "| case | what it does | expected | " + " | ".join(profiles) + " |",
                  "|---|---|---|" + "---|" * len(profiles)]
        for (a, _), row in by_case.items():
            if a != assignment:
                continue
            case = next(iter(row.values())).case
            expected = "full marks" if case.correct else "loses " + ", ".join(case.lose)
            cells = " | ".join(row[p].cell() if p in row else "—" for p in profiles)
            lines.append(f"| `{case.name}` | {case.about} | {expected} | {cells} |")
    lines += ["", "## Totals", ""]
    for p in profiles:
        mine = [v for v in verdicts if v.profile == p]
        good = sum(v.as_expected for v in mine)
        correct = [v for v in mine if v.case.correct]
        lines.append(f"- **{p}**: {good} of {len(mine)} cases as expected ("
                     f"{sum(v.as_expected for v in correct)} of {len(correct)} correct solutions "
                     f"with full marks, {sum(v.as_expected for v in mine if not v.case.correct)} "
                     f"of {len(mine) - len(correct)} mutants losing exactly their question)")
    lines += ["", "Grading time (2 workers, this machine): " + ", ".join(
        f"{k} {v:.0f} s" for k, v in seconds.items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade the fidelity corpus; write its table.")
    parser.add_argument("--assignment", choices=list(examples.NOTEBOOK_FOLDERS), action="append")
    parser.add_argument("--profile", choices=list(PROFILES), action="append")
    parser.add_argument("--cache", type=Path, default=None,
                        help="reference cache (default: a fresh temporary folder)")
    args = parser.parse_args(argv)
    assignments = args.assignment or list(examples.NOTEBOOK_FOLDERS)
    profiles = args.profile or list(PROFILES)
    confine = os.environ.get("GRADER_TEST_CONFINE", "1").strip().lower() in ("1", "true", "yes")
    verdicts: list[CaseVerdict] = []
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        cache = args.cache or Path(tmp) / "cache"
        for assignment in assignments:
            for name in profiles:
                start = time.perf_counter()
                verdicts += grade_corpus(assignment, PROFILES[name],
                                         Path(tmp) / f"{assignment}-{name}", cache, confine)
                seconds[f"{assignment} on {name}"] = time.perf_counter() - start
                print(f"{assignment} on {name}: {seconds[f'{assignment} on {name}']:.0f} s",
                      file=sys.stderr)
    text = table(verdicts, seconds)
    if args.assignment or args.profile:
        print(text)
    else:
        TABLE.parent.mkdir(parents=True, exist_ok=True)
        TABLE.write_text(text, encoding="utf-8")
        print(f"wrote {TABLE.relative_to(REPO)}")
    return 0 if all(v.as_expected for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
