"""Code that runs INSIDE the student's kernel, sent as source text (the grader only reads it).

It takes a JSON request of probe operations, runs them against the student's namespace on inputs the
grader wrote into the sandbox, and writes back plain data only: a JSON tree (`out.json`) whose arrays
live in an uncompressed, pickle-free `out.npz`. The grader validates both before use; nothing here is
trusted. Everything is defined inside `_grader_main` so the student's namespace gets no new names.
"""

import functools


def _grader_main(request_path, out_json, out_npz):
    import builtins
    import copy
    import io
    import json
    import sys
    import time
    import traceback as tb_mod

    import numpy

    ip = get_ipython()  # noqa: F821  (defined in the kernel)
    user_ns = ip.user_ns
    arrays = {}
    max_array_bytes = 0

    def _torch():
        return sys.modules.get("torch")

    def to_plain(obj, depth=0):
        """Student objects -> JSON-able tree with arrays by reference. Never trusts __array__ lies."""
        torch = _torch()
        if depth > 6:
            return {"__unsupported__": "nested too deeply"}
        if obj is None or isinstance(obj, (bool,)):
            return obj
        if type(obj) in (int, float, str):
            return obj
        if isinstance(obj, (numpy.integer, numpy.floating, numpy.bool_)):
            return obj.item()
        if torch is not None and isinstance(obj, torch.Tensor):
            obj = obj.detach().cpu()
            if obj.dtype == torch.bfloat16 or obj.dtype == torch.float16:
                obj = obj.float()
            obj = obj.numpy()
        if isinstance(obj, numpy.ndarray):
            arr = numpy.array(obj, copy=True)
            if type(arr) is not numpy.ndarray or arr.dtype.kind not in "biufc":
                return {"__unsupported__": f"array of dtype {arr.dtype}"}
            if arr.nbytes > max_array_bytes:
                return {"__unsupported__": f"array of {arr.nbytes} bytes exceeds the capture limit"}
            key = f"a{len(arrays)}"
            arrays[key] = arr
            return {"__array__": key}
        if isinstance(obj, (list, tuple)) and len(obj) <= 10000:
            return [to_plain(v, depth + 1) for v in obj]
        if isinstance(obj, dict) and len(obj) <= 1000:
            return {str(k): to_plain(v, depth + 1) for k, v in obj.items()}
        return {"__type__": type(obj).__name__, "repr": safe_repr(obj)}

    def safe_repr(obj):
        try:
            return builtins.repr(obj)[:300]
        except Exception as exc:  # noqa: BLE001
            return f"<repr raised {type(exc).__name__}>"

    def error_of(exc):
        lines = tb_mod.format_exception(type(exc), exc, exc.__traceback__)
        return {
            "ename": type(exc).__name__,
            "evalue": str(exc)[:2000],
            "traceback": "".join(lines)[-6000:],
        }

    def lookup(name):
        if name not in user_ns:
            raise LookupError(f"name '{name}' is not defined")
        return user_ns[name]

    def require_torch():
        torch = _torch()
        if torch is None:
            raise LookupError("the notebook never imported torch, so it has no model to run")
        return torch

    def is_module(obj):
        torch = _torch()
        return torch is not None and isinstance(obj, torch.nn.Module)

    layer_attrs = (
        "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
        "in_features", "out_features", "start_dim", "end_dim", "p", "num_features",
        "negative_slope", "dim",
    )

    def module_summary(mod, with_params=True):
        layers = []
        for path, sub in mod.named_modules():
            if len(list(sub.children())) and path:
                continue
            if not path and len(list(sub.children())):
                continue
            attrs = {}
            for a in layer_attrs:
                if hasattr(sub, a):
                    v = getattr(sub, a)
                    if isinstance(v, (int, float, bool, str)) or (
                        isinstance(v, tuple) and all(isinstance(t, (int, float)) for t in v)
                    ):
                        attrs[a] = list(v) if isinstance(v, tuple) else v
            has_bias = getattr(sub, "bias", None) is not None if hasattr(sub, "bias") else None
            layers.append({"path": path, "type": type(sub).__name__, "attrs": attrs,
                           "bias": has_bias})
        params = [p.detach().cpu().numpy() for p in mod.parameters()]
        out = {
            "class": type(mod).__name__,
            "layers": layers,
            "param_shapes": [list(p.shape) for p in params],
            "n_params": int(sum(p.size for p in params)),
            "training": bool(mod.training),
        }
        if with_params:
            out["params"] = [to_plain(p) for p in params]
        return out

    def load_inputs(spec, inputs):
        """Turn a grader argument spec into a Python value for the student's code."""
        if isinstance(spec, dict):
            if "input" in spec:
                arr = inputs[spec["input"]]
                if spec.get("as") == "tensor":
                    return _torch().from_numpy(numpy.array(arr))
                if spec.get("as") == "list":
                    return arr.tolist()
                return numpy.array(arr)
            if "student" in spec:
                return lookup(spec["student"])
            if "file" in spec:
                return spec["file"]
            if "tuple" in spec:
                return tuple(load_inputs(s, inputs) for s in spec["tuple"])
            if "literal" in spec:
                return spec["literal"]
        if isinstance(spec, list):
            return [load_inputs(s, inputs) for s in spec]
        return spec

    def seed_all(seed):
        if seed is None:
            return
        numpy.random.seed(seed)
        torch = _torch()
        if torch is not None:
            torch.manual_seed(seed)

    class _Tracer:
        """Records which top-level packages' Python code runs during a call (forbidden libraries)."""

        def __init__(self, watch):
            self.watch = tuple(watch)
            self.hits = {}

        def __call__(self, frame, event, arg):
            if event == "call":
                mod = frame.f_globals.get("__name__", "")
            elif event == "c_call":
                mod = getattr(arg, "__module__", None) or ""
            else:
                return
            if mod and mod.startswith(self.watch):
                for w in self.watch:
                    if mod.startswith(w):
                        self.hits[w] = self.hits.get(w, 0) + 1

    def traced_call(fn, args, kwargs, watch):
        tracer = _Tracer(watch) if watch else None
        start = time.perf_counter()
        if tracer:
            sys.setprofile(tracer)
        try:
            value = fn(*args, **kwargs)
        finally:
            if tracer:
                sys.setprofile(None)
        return value, time.perf_counter() - start, (tracer.hits if tracer else {})

    def batched_forward(model, x, batch_size):
        torch = _torch()
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                outs.append(model(x[i:i + batch_size]))
        return torch.cat(outs) if outs else torch.zeros(0)

    def assign_params(model, params):
        torch = _torch()
        own = list(model.parameters())
        if len(own) != len(params) or any(
            tuple(p.shape) != tuple(q.shape) for p, q in zip(own, params)
        ):
            raise ValueError(
                "parameter shapes "
                f"{[list(p.shape) for p in own]} do not match {[list(q.shape) for q in params]}"
            )
        with torch.no_grad():
            for p, q in zip(own, params):
                p.copy_(torch.from_numpy(numpy.array(q)).to(p.dtype))

    # ---- operations -------------------------------------------------------------------------
    def op_value(op, inputs):
        obj = lookup(op["name"])
        out = {"type": type(obj).__name__}
        if is_module(obj):
            out["kind"] = "module"
            out["module"] = module_summary(obj, with_params=op.get("params", True))
            return out
        if callable(obj) and not hasattr(obj, "shape"):
            out["kind"] = "callable"
            return out
        limit = op.get("max_bytes")
        if limit is not None:
            size = getattr(obj, "nbytes", None)
            if size is None and hasattr(obj, "element_size") and hasattr(obj, "numel"):
                size = obj.element_size() * obj.numel()
            if size is not None and size > limit:
                out["kind"] = "too_big"
                out["shape"] = [int(s) for s in getattr(obj, "shape", ())]
                return out
        rows = op.get("rows")
        if rows is not None:
            arr = numpy.asarray(obj.detach().cpu().numpy() if hasattr(obj, "detach") else obj)
            arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr
            out["kind"] = "summary"
            out["shape"] = list(numpy.shape(obj))
            out["dtype"] = str(arr.dtype)
            idx = [r for r in rows if r < arr.shape[0]]
            out["rows"] = to_plain(numpy.array(arr[idx]))
            out["colsum"] = to_plain(numpy.array(arr.sum(0, dtype=numpy.float64)))
            return out
        plain = to_plain(obj)
        out["kind"] = "array" if isinstance(plain, dict) and "__array__" in plain else "value"
        if hasattr(obj, "dtype"):
            out["dtype"] = str(obj.dtype)
        if hasattr(obj, "shape"):
            out["shape"] = [int(s) for s in obj.shape]
        out["value"] = plain
        return out

    def op_modules(op, inputs):
        seen = set()
        found = []
        for name, obj in list(user_ns.items()):
            if name.startswith("_") or not is_module(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            summary = module_summary(obj, with_params=summary_small(obj, op))
            summary["name"] = name
            found.append(summary)
        return {"modules": found}

    def summary_small(obj, op):
        return sum(p.numel() for p in obj.parameters()) <= op.get("max_params", 200000)

    def op_forward(op, inputs):
        torch = _torch()
        if "construct" in op:
            cls = lookup(op["construct"])
            args = load_inputs(op.get("args", []), inputs)
            seed_all(op.get("seed"))
            model = cls(*args)
        elif op.get("names"):
            return forward_candidates(op, inputs)
        else:
            model = copy.deepcopy(lookup(op["name"]))
        require_torch()
        x = torch.from_numpy(numpy.array(inputs[op["input"]]))
        result = {}
        if op.get("random_params_seed") is not None:
            rng = numpy.random.default_rng(op["random_params_seed"])
            params = [rng.normal(0.0, op.get("random_scale", 0.3), size=tuple(p.shape))
                      .astype(numpy.float32) for p in model.parameters()]
            assign_params(model, params)
            result["params"] = [to_plain(p) for p in params]
        if "params" in op:
            assign_params(model, [inputs[k] for k in op["params"]])
        if op.get("eval", True):
            model.eval()
        out = batched_forward(model, x, op.get("batch_size", 500))
        result["shape"] = list(out.shape)
        result["output"] = to_plain(out.argmax(dim=1) if op.get("argmax") else out)
        return result

    def forward_candidates(op, inputs):
        """Predictions of every module that maps the input batch to the wanted output width."""
        torch = require_torch()
        x = torch.from_numpy(numpy.array(inputs[op["input"]]))
        names = op["names"]
        pool = [(n, user_ns[n]) for n in names if n != "*" and n in user_ns]
        if "*" in names:
            pool += [(n, o) for n, o in list(user_ns.items()) if not n.startswith("_")]
        seen, found = set(), []
        for name, obj in pool:
            if not is_module(obj) or id(obj) in seen or len(found) >= op.get("max_candidates", 6):
                continue
            seen.add(id(obj))
            try:
                model = copy.deepcopy(obj)
                model.eval()
                with torch.no_grad():
                    trial = model(x[:2])
                if tuple(trial.shape) != (min(2, len(x)), op.get("width", 10)):
                    continue
                out = batched_forward(model, x, op.get("batch_size", 500))
                found.append({"name": name, "output": to_plain(out.argmax(dim=1))})
            except Exception as exc:  # noqa: BLE001
                found.append({"name": name, "error": error_of(exc)})
        return {"candidates": found}

    def op_call(op, inputs):
        target = lookup(op["name"])
        watch = op.get("watch", [])
        seed_all(op.get("seed"))
        if "construct" in op:
            args = load_inputs(op["construct"], inputs)
            value, seconds, hits = traced_call(target, args, {}, watch)
        else:
            args = load_inputs(op.get("args", []), inputs)
            kwargs = {k: load_inputs(v, inputs) for k, v in op.get("kwargs", {}).items()}
            before = [numpy.array(a, copy=True) if isinstance(a, numpy.ndarray) else None
                      for a in args]
            value, seconds, hits = traced_call(target, args, kwargs, watch)
        result = {"forbidden_hits": hits}
        if "construct" not in op:
            result["mutated_args"] = [
                bool(b is not None and (b.shape != a.shape or not numpy.array_equal(b, a)))
                for b, a in zip(before, args)
            ]
        steps = []
        for step in op.get("then", []):
            method = getattr(value, step["method"])
            sargs = load_inputs(step.get("args", []), inputs)
            ret, sec, step_hits = traced_call(method, sargs, {}, watch)
            for k, v in step_hits.items():
                hits[k] = hits.get(k, 0) + v
            seconds += sec
            steps.append(to_plain(ret) if step.get("keep") else None)
            if step.get("chain") and ret is not None:
                value = ret
        result["seconds"] = seconds
        if op.get("describe") and is_module(value):
            result["module"] = module_summary(value, with_params=False)
        if "then" in op:
            result["steps"] = steps
        else:
            result["result"] = to_plain(value)
        return result

    def op_figures(op, inputs):
        log = user_ns.get("__grader_figlog__", None)
        figs = list(getattr(log, "items", [])) if log is not None else []
        if log is not None:
            log.items = []
        return {"figures": figs}

    def op_calls_log(op, inputs):
        log = user_ns.get("__grader_calllog__", None)
        return {"calls": list(getattr(log, "items", [])) if log is not None else []}

    ops = {
        "value": op_value,
        "modules": op_modules,
        "forward": op_forward,
        "call": op_call,
        "figures": op_figures,
        "calls_log": op_calls_log,
    }

    with open(request_path, encoding="utf-8") as fh:
        request = json.load(fh)
    max_array_bytes = int(request.get("max_array_bytes", 256 * 2**20))
    inputs = {}
    if request.get("inputs"):
        with numpy.load(request["inputs"], allow_pickle=False) as npz:
            inputs = {k: npz[k] for k in npz.files}
    results = {}
    saved_stdout = sys.stdout
    for op in request["ops"]:
        start = time.perf_counter()
        sys.stdout = io.StringIO()  # student prints during a probe must not pollute the notebook
        try:
            results[op["id"]] = {"ok": True, **ops[op["op"]](op, inputs)}
        except BaseException as exc:  # noqa: BLE001  (a student's SystemExit is a result too)
            results[op["id"]] = {"ok": False, "error": error_of(exc)}
        finally:
            printed = sys.stdout.getvalue()
            sys.stdout = saved_stdout
        results[op["id"]]["probe_seconds"] = time.perf_counter() - start
        results[op["id"]]["printed"] = printed[-2000:]
    numpy.savez(out_npz, **arrays)
    with open(out_json, "w", encoding="utf-8") as fh:
        json.dump(results, fh)


SETUP_SOURCE = r'''
def __grader_setup__(forbidden_calls, max_cell_output):
    """Install the figure log and the forbidden-call tracers. Runs once before any student cell."""
    import importlib
    import types

    ip = get_ipython()

    class _Log:
        def __init__(self):
            self.items = []

    figlog = _Log()
    calllog = _Log()
    ip.user_ns["__grader_figlog__"] = figlog
    ip.user_ns["__grader_calllog__"] = calllog

    seen = set()

    def summarize_figure(fig):
        key = (id(fig), ip.execution_count)
        if key in seen:
            return
        seen.add(key)
        axes = []
        for ax in fig.get_axes():
            groups = set()
            mapped = 0
            for coll in ax.collections:
                try:
                    values = coll.get_array()
                    if values is not None and len(values) > 1:
                        import numpy
                        mapped = max(mapped, len(numpy.unique(numpy.asarray(values)[:100000])))
                        continue
                    fc = coll.get_facecolors()
                    if len(fc):
                        groups.add(tuple(round(float(c), 3) for c in fc[0]))
                    else:
                        groups.add(("coll", id(coll)))
                except Exception:
                    groups.add(("coll", id(coll)))
            axes.append({
                "images": len(ax.images),
                "lines": len(ax.lines),
                "collections": len(ax.collections),
                "color_groups": max(len(groups), mapped),
                "title": str(ax.get_title())[:100],
                "has_data": bool(ax.images or ax.lines or ax.collections or ax.patches),
            })
        if not any(a["has_data"] for a in axes):
            return
        figlog.items.append({
            "execution_count": ip.execution_count,
            "axes": axes,
            "data_axes": sum(1 for a in axes if a["has_data"]),
            "image_axes": sum(1 for a in axes if a["images"]),
        })

    def summarize_figures():
        import sys
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return
        for manager in list(helpers.Gcf.get_all_fig_managers()):
            summarize_figure(manager.canvas.figure)

    try:
        # plt.show() under the inline backend closes figures inside the cell: look before that
        from matplotlib._pylab_helpers import Gcf

        destroy, destroy_all = Gcf.destroy.__func__, Gcf.destroy_all.__func__

        def traced_destroy(cls, num):
            try:
                manager = num if hasattr(num, "canvas") else cls.figs.get(num)
                if manager is not None:
                    summarize_figure(manager.canvas.figure)
            except Exception:
                pass
            return destroy(cls, num)

        def traced_destroy_all(cls):
            try:
                summarize_figures()
            except Exception:
                pass
            return destroy_all(cls)

        Gcf.destroy = classmethod(traced_destroy)
        Gcf.destroy_all = classmethod(traced_destroy_all)
    except Exception:
        pass

    def on_post_execute():
        try:
            summarize_figures()
        except Exception:
            pass

    ip.events.register("post_execute", on_post_execute)

    cell_number = [0]  # student cells run so far; silent grader code fires no pre_run_cell

    output_left = [max_cell_output]

    def on_pre_run_cell(*args):
        cell_number[0] += 1
        output_left[0] = max_cell_output

    def capped(write):
        # A print loop must not flood the grader with gigabytes of stream messages.
        def write_capped(text):
            if output_left[0] <= 0:
                return len(text)
            if len(text) > output_left[0]:
                kept = text[:output_left[0]]
                output_left[0] = 0
                write(kept)
                return write("\n[grader: this cell printed too much; the rest was dropped]\n")
            output_left[0] -= len(text)
            return write(text)
        return write_capped

    import sys
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.write = capped(stream.write)
        except Exception:
            pass

    ip.events.register("pre_run_cell", on_pre_run_cell)

    for dotted in forbidden_calls:
        modname, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(modname)
            original = getattr(module, attr)
        except Exception:
            continue

        def make(original, dotted):
            def traced(*args, **kwargs):
                import sys
                caller = sys._getframe(1)
                # only the notebook's own code counts, not a library that uses it internally
                if caller.f_globals.get("__name__") == "__main__":
                    calllog.items.append({"call": dotted, "execution_count": cell_number[0]})
                return original(*args, **kwargs)
            traced.__wrapped__ = original
            traced.__name__ = getattr(original, "__name__", attr)
            traced.__doc__ = getattr(original, "__doc__", None)
            return traced

        setattr(module, attr, make(original, dotted))

'''


@functools.cache
def probe_source() -> str:
    """The source of `_grader_main`, to be exec'd in a private globals dict inside the kernel."""
    import inspect

    return inspect.getsource(_grader_main)
