"""Secret spans: the parts of a check's sentence only the instructor may read.

A check writes reference values, expected numbers, thresholds derived from the reference and model
answers inside `secret(...)` (with the words that join them to the sentence, so the sentence still
reads without them): "loss 0.3201" + secret(" (reference 0.3114)"). The score stage keeps two forms
of each sentence: `instructor_text` (everything, markers removed) and `student_text` (secret spans
dropped, absolute paths of the grading machine reduced to file names). Imports nothing of the grader.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "\ue000", "\ue001"  # private-use characters: never in the grader's own text
_GAP = "\ue002"  # where a span was, while the student's form is tidied
_SPAN = re.compile(f"{OPEN}[^{CLOSE}]*(?:{CLOSE}|$)", re.DOTALL)
_MARKS = re.compile(f"[{OPEN}{CLOSE}]")
# an absolute path of two or more parts (/work/x/y.py, /tmp/pytest-1/alice.ipynb, /root/.cache)
_PATH = re.compile(r"(?<![\w.~])(?:~|/)(?:[\w.+@-]+/)+([\w.+@-]*)")


def secret(text: object) -> str:
    """`text` marked as the instructor's only (markers inside it are removed first)."""
    return f"{OPEN}{_MARKS.sub('', str(text))}{CLOSE}"


def instructor_text(message: str) -> str:
    """The whole sentence, markers removed."""
    return _MARKS.sub("", message)


def scrub_paths(text: str) -> str:
    """Absolute paths reduced to their last part: `/work/main/grader/x.py` -> `x.py`."""
    return _PATH.sub(lambda m: m.group(1) or "…", text)


def student_text(message: str) -> str:
    """The sentence without its secret spans (or the grading machine's paths); only the spaces
    where a span was are tidied, the rest of the sentence is left as written."""
    text = _MARKS.sub("", _SPAN.sub(_GAP, message.replace(_GAP, "")))
    text = re.sub(f"[ \t]*{_GAP}[ \t]*(?=[,;.:)\\]]|$)", "", text)  # before punctuation, at the end
    text = re.sub(f"[ \t]*{_GAP}[ \t]*", " ", text)
    return scrub_paths(text)
