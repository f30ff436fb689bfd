"""nbgrade-ml: an auto-grader for machine-learning notebook assignments."""

__version__ = "0.1.0"
