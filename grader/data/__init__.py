"""The data the grader gives student notebooks, and the held-out split it keeps to itself.

`load_data(source)` (sources.py) builds a `DataBundle` (bundle.py) from the offline "digits" profile
or a directory of MNIST IDX files (idx.py); `provision(bundle, workdir, layouts)` (layouts.py) writes
its train and test splits, never the hidden one, into a notebook's working directory.
"""

from grader.data.bundle import DataBundle, DataError, Split
from grader.data.idx import read_idx, write_idx
from grader.data.layouts import provision
from grader.data.sources import load_data

__all__ = ["DataBundle", "DataError", "Split", "load_data", "provision", "read_idx", "write_idx"]
