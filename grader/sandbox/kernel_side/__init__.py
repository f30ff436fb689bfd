"""Code that runs INSIDE the student's kernel: ordinary modules, linted and unit-tested in-process.

The grader never imports these to probe; it sends their source text (and grader/probes.py's) once,
when the kernel starts and before any student cell runs (`grader.sandbox.kernel.setup_code`), and
the kernel registers them in its `sys.modules` under these same names, parent packages as bare
modules (`boot.py`). Then `entry.install` sets up the kernel hooks, and each probe calls `entry.run`.

Private references: every module here binds what it serialises and inspects with by name at import
(`from numpy import array`, `from json import JSONEncoder`, ...), which in the kernel is install time,
and each gets its own copy of the builtins as they were then; so a notebook that later rebinds
`numpy.savez`, `json.dump` or `builtins.print` changes its own namespace, not what the grader
receives. torch is never imported by the grader: `originals` takes torch's own functions the moment
the notebook imports it (an import watch), and models, tensors and types are read through those and
through the objects' own registries, never through methods a student object could override. What
remains looked up when used (json's C encoder factory, numpy's NPZ writer's helpers) stays the
notebook's.

Modules: `boot` (loads the others from source), `originals` (torch's originals, the grader's random
generator), `plain` (student objects -> plain data), `models` (torch helpers), `arguments` (argument
specs -> values, traced calls), `operations` (one function per probe operation), `figures` and
`hooks` (what install sets up), `entry` (install, run).
"""
