"""The data the grader gives student notebooks, and the held-out split it keeps to itself.

`load_data(source)` (sources.py) builds a `DataBundle` (bundle.py) from the offline "digits" profile
or a directory of MNIST IDX files (idx.py); `course_data(...)` (course.py) adds an assignment's own
files; `provision(bundle, workdir, layouts)` (layouts.py) writes its train and test splits and the
public course files, never the hidden ones, into a notebook's working directory.
"""

from grader.data.bundle import DataBundle, DataError, Split
from grader.data.course import CourseData, course_data
from grader.data.idx import read_idx, write_idx
from grader.data.layouts import provision
from grader.data.sources import load_data

__all__ = ["CourseData", "DataBundle", "DataError", "Split", "course_data", "load_data", "provision",
           "read_idx", "write_idx"]
