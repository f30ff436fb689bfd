"""The example student notebooks: their sources (src/), the code that reads them (examples.py)
and the script that writes the notebooks (build.py)."""
