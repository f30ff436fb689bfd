"""Grading one notebook or a class: discover -> plan -> run -> record (see run.py).

This package's modules are imported by name (`grader.batch.discover`, `grader.batch.run`, ...): this
file imports nothing, so that looking for notebooks costs no heavy import.
"""
