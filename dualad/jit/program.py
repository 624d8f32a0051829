"""A recorded call of ``f`` as a straight-line program, and its replay.

A replay runs the steps in order on the new arguments: every numpy call of ``f`` again (a
generated Python function of the steps), but none of ``f``'s own Python. A guard that answers
otherwise, or a step that raises, abandons the replay (``Stale``) and the caller takes the
ordinary route. After a few replays, a program that ``lower.py`` describes is compiled into
one numba function (``hooks.compile_program``), kept where it times faster than the
interpreted replay: then a replay is one call.
"""
import math
import time
from typing import Any, List, Sequence

import numpy as np

from ..core import DualNumber, hooks
from ..core.dual import make
from ..higher import HyperDual
from .lower import lower, slot_meta
from .tape import Plain, Ref, Step, Tape, resolve


class Stale(Exception):
    """A guard answered otherwise, or a step raised: this program does not apply."""


def same(a: Any, b: Any) -> bool:
    """``a == b`` for guard answers, nan equal to nan and -0.0 unequal to 0.0 (a branch
    may read the sign)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b) or a != a and b != b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


class Program:
    """The steps of one recording: ``run(inputs)`` replays them on new inputs (the objects
    ``f``'s tracers stood for, in order)."""

    __slots__ = ("steps", "n_slots", "n_inputs", "output", "compiled", "replays", "meta",
                 "description", "prefix", "python", "interpreted", "budget")

    def __init__(self, tape: Tape, n_inputs: int, output: Any) -> None:
        self.steps: List[Step] = tape.steps
        self.n_slots = len(tape.reals)
        self.n_inputs = n_inputs
        self.output = output
        self.meta: List[Any] = [slot_meta(r) for r in tape.reals]
        self.description = lower(self.steps, self.meta, output)
        self.compiled: Any = None  # the compiled replay, False where it cannot be compiled
        self.replays = 0
        self.prefix: Any = None  # before_sum(), once asked (False: there is none)
        self.python = _python(self)
        self.interpreted = 0.0  # seconds spent in interpreted replays
        self.budget = 0.0  # of them before compiling (a long record: its compile time)

    def run(self, inputs: Sequence[Any]) -> Any:
        """``f``'s result at ``inputs``; raises Stale where the recording does not apply."""
        self.replays += 1
        if self.compiled is None and self.replays >= _COMPILE_AFTER \
                and self.interpreted >= self.budget:
            self._compile(inputs)
        if self.compiled:
            try:
                flat = self.compiled(self._arrays(inputs))
            except Exception:  # numba could not type it after all: interpreted from now on
                self.compiled = False
            else:
                return self._results(flat, inputs)
        start = time.perf_counter()
        out = self.interpret(inputs)
        self.interpreted += time.perf_counter() - start
        return out

    def _compile(self, inputs: Sequence[Any]) -> None:
        """Compile, and keep the compiled replay where it is the faster one (per-element
        loops over packed Hessian parts lose to HyperDual's GEMMs on many directions).

        A record of more than ``SHORT_STEPS`` steps is compiled at once only where it was
        compiled before (the disk cache has it); else once its interpreted replays have
        taken as long as its compile is expected to take (``COMPILE_SECONDS_PER_STEP``):
        a compile then costs at most what the replays cost, and a record that replays in
        microseconds is not held up by tens of seconds of compiling."""
        compile_program = hooks.compile_program
        steps = len(self.description) if self.description is not None else 0
        if compile_program is None or not steps or steps > MAX_COMPILED_STEPS:
            self.compiled = False
            return
        compiled = None
        if steps > SHORT_STEPS and self.interpreted < COMPILE_SECONDS_PER_STEP * steps:
            compiled = compile_program(self.description, self.meta, self.n_inputs,
                                       cached_only=True)
            if compiled is None:  # (not compiled before: asked again once it pays off)
                self.budget = COMPILE_SECONDS_PER_STEP * steps
                return
        self.compiled = False
        if compiled is None:
            compiled = compile_program(self.description, self.meta, self.n_inputs)
        if not compiled:
            return
        try:
            arrays = self._arrays(inputs)
            compiled(arrays)  # (numba compiles on the first call)
            fast = _best(lambda: compiled(self._arrays(inputs)))
        except Exception:  # noqa: BLE001  (numba could not type it: interpreted)
            return
        try:
            slow = _best(lambda: self.interpret(inputs))
        except Exception:  # noqa: BLE001  (Stale: the caller's route decides)
            slow = math.inf
        if fast < slow:
            self.compiled = compiled

    def before_sum(self) -> Any:
        """The program without its last step where that is a sum (or mean) of every element
        of one array and gives the result: ``(program, "sum" or "mean")``, else None."""
        if not self.steps or type(self.output) is not Ref:
            return None
        last = self.steps[-1]
        if last.guard or last.outs != self.output or len(last.args) != 1 \
                or type(last.args[0]) is not Ref or last.kwargs.get("axis") is not None:
            return None
        name = getattr(last.fn, "__name__", "")
        kind = {"sum": "sum", "method sum": "sum", "mean": "mean",
                "method mean": "mean"}.get(name)
        if kind is None or set(last.kwargs) - {"axis"}:
            return None
        prefix = Program.__new__(Program)
        prefix.steps, prefix.n_slots = self.steps[:-1], self.n_slots
        prefix.n_inputs, prefix.output, prefix.meta = self.n_inputs, last.args[0], self.meta
        prefix.description = lower(prefix.steps, prefix.meta, prefix.output)
        prefix.compiled, prefix.replays, prefix.prefix = None, 0, False
        prefix.interpreted = prefix.budget = 0.0
        prefix.python = _python(prefix)
        return prefix, kind

    def push(self, x: Any, directions: Any) -> Any:
        """``(value, partials)`` of a compiled one-argument dual program at plain arrays,
        or None (the helpers' fast path: no dual objects at all)."""
        if not self.compiled or self.n_inputs != 1 or type(self.output) is not Ref \
                or self.meta[self.output.slot][0] != "dual":
            return None
        v, p = self.compiled([_number(x), directions])
        return (np.asarray(v) if type(v) is not np.ndarray else v), p

    def _arrays(self, inputs: Sequence[Any]) -> List[Any]:
        """The compiled function's arguments: each input's value and tangent parts."""
        arrays: List[Any] = []
        for (kind, _), a in zip(self.meta, inputs):
            if kind == "dual":
                arrays += [_number(a.value), a.partials]
            elif kind == "hyper":
                arrays += [_number(a.value), a.grad, a.hess]
            else:
                arrays.append(_number(a))
        return arrays

    def _results(self, flat: Any, inputs: Sequence[Any]) -> Any:
        tag = next((a._tag for a in inputs if type(a) is DualNumber), 0)
        at = 0

        def build(t: Any) -> Any:
            nonlocal at
            if type(t) is not Ref:
                return type(t)(build(e) for e in t)
            kind = self.meta[t.slot][0]
            value = np.asarray(flat[at])
            if kind == "dual":
                out: Any = make(value, flat[at + 1], tag)
                at += 2
            elif kind == "hyper":
                out = HyperDual._new(value, flat[at + 1], flat[at + 2])  # (fresh arrays)
                at += 3
            else:
                out = value
                at += 1
            return out
        return build(self.output)

    def interpret(self, inputs: Sequence[Any]) -> Any:
        """Replay with numpy: every call of the recording, no Python of f (a generated
        function of the steps where the arguments' structure allows, else step by step)."""
        if self.python is not None:
            return self.python(*inputs)
        slots: List[Any] = [None] * self.n_slots
        slots[:self.n_inputs] = inputs
        for step in self.steps:
            try:
                if step.guard:
                    answer = step.fn(slots[step.args[0].slot], *step.args[1:])
                    if not same(answer, step.expect):
                        raise Stale("a guard answered otherwise")
                    continue
                out = step.fn(*resolve(step.args, slots), **resolve(step.kwargs, slots))
            except Stale:
                raise
            except Exception as err:  # (the ordinary route raises it again, or not)
                raise Stale(f"a step raised {type(err).__name__}") from err
            _store(step.outs, out, slots)
        return resolve(self.output, slots)


def _best(fn: Any, repeats: int = 3) -> float:
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _number(a: Any) -> Any:
    # (0-d values travel as floats: numba's scalars)
    return a if type(a) is np.ndarray and a.ndim else float(a)


#: replays before a program is compiled (a compile costs a second or more)
_COMPILE_AFTER = 3
#: the longest record compiled (numba's time grows faster than the code: a 206-step record
#: of a 2-d stencil took 15 to 22 s); longer records replay interpreted
MAX_COMPILED_STEPS = 256
#: records up to this long are compiled after _COMPILE_AFTER replays (a few seconds at most)
SHORT_STEPS = 64
#: the expected compile time of a longer record, per step (measured: 0.07 to 0.1 s)
COMPILE_SECONDS_PER_STEP = 0.1


def _store(outs: Any, out: Any, slots: List[Any]) -> None:
    if type(outs) is Ref:
        slots[outs.slot] = out
    elif isinstance(outs, tuple) and type(outs) is not Plain:
        if not isinstance(out, tuple) or len(out) != len(outs):
            raise Stale("a step returned another structure")
        for o, v in zip(outs, out):
            _store(o, v, slots)
    elif not same(out, outs.value):  # a Python answer (np.allclose): a guard
        raise Stale("an operation answered otherwise")


def describe(program: Program) -> str:
    """The program's steps, one per line (for ``Jitted.explain``)."""
    lines = []
    for step in program.steps:
        name = getattr(step.fn, "__qualname__", None) or getattr(step.fn, "__name__", "?")
        if step.guard:
            lines.append(f"guard {name}(%{step.args[0].slot}) == {step.expect!r}")
        else:
            args = ", ".join(_show(a) for a in step.args)
            kw = "".join(f", {k}={_show(v)}" for k, v in step.kwargs.items())
            lines.append(f"{_show(step.outs)} = {name}({args}{kw})")
    return "\n".join(lines)


def _show(t: Any) -> str:
    if type(t) is Ref:
        return f"%{t.slot}"
    if isinstance(t, (list, tuple)) and not hasattr(t, "_fields"):
        inner = ", ".join(_show(e) for e in t)
        return f"[{inner}]" if isinstance(t, list) else f"({inner})"
    if hasattr(t, "shape") and getattr(t, "ndim", 0) > 0:
        return f"<array {t.shape}>"
    return repr(t)


class _Unwritable(Exception):
    pass


def _python(program: Program) -> Any:
    """The steps as one generated Python function of the inputs (no per-step lookups of
    arguments), or None where an argument's structure is not a list, tuple or dict."""
    env: dict = {"same": same, "Stale": Stale}
    names: dict = {}

    def const(value: Any) -> str:
        name = names.get(id(value))
        if name is None:
            name = names[id(value)] = f"K{len(names)}"
            env[name] = value
        return name

    def expr(t: Any) -> str:
        if type(t) is Ref:
            return f"s{t.slot}"
        if not _has_ref(t):
            return const(t)
        if type(t) is list:
            return "[" + ", ".join(expr(e) for e in t) + "]"
        if type(t) is tuple:
            return "(" + "".join(expr(e) + ", " for e in t) + ")"
        if type(t) is dict:
            return "{" + ", ".join(f"{const(k)}: {expr(v)}" for k, v in t.items()) + "}"
        raise _Unwritable(type(t).__name__)

    body = []
    try:
        for k, step in enumerate(program.steps):
            fn = const(step.fn)
            if step.guard:
                args = "".join(", " + expr(a) for a in step.args[1:])
                body.append(f"if not same({fn}({expr(step.args[0])}{args}), "
                            f"{const(step.expect)}): raise Stale('a guard answered otherwise')")
                continue
            call = f"{fn}(" + "".join(expr(a) + ", " for a in step.args) + "".join(
                f"{key}={expr(v)}, " for key, v in step.kwargs.items()) + ")"
            outs = step.outs
            if type(outs) is Ref:
                body.append(f"s{outs.slot} = {call}")
            elif type(outs) is Plain:
                body.append(f"if not same({call}, {const(outs.value)}): "
                            "raise Stale('an operation answered otherwise')")
            else:
                body += [f"t = {call}",
                         f"if not isinstance(t, tuple) or len(t) != {len(outs)}: "
                         "raise Stale('a step returned another structure')"]
                for i, o in enumerate(outs):
                    body.append(f"s{o.slot} = t[{i}]" if type(o) is Ref else
                                f"if not same(t[{i}], {const(o.value)}): "
                                "raise Stale('an operation answered otherwise')")
        body.append(f"return {expr(program.output)}")
    except _Unwritable:
        return None
    params = ", ".join(f"s{i}" for i in range(program.n_inputs))
    source = (f"def replay({params}):\n    try:\n"
              + "".join(f"        {line}\n" for line in body)
              + "    except Stale:\n        raise\n"
              + "    except Exception as err:\n"
              + "        raise Stale(f'a step raised {type(err).__name__}') from err\n")
    exec(compile(source, "<dualad.jit replay>", "exec"), env)  # noqa: S102
    return env["replay"]


def _has_ref(t: Any) -> bool:
    if type(t) is Ref:
        return True
    if type(t) in (list, tuple):
        return any(_has_ref(e) for e in t)
    if type(t) is dict:
        return any(_has_ref(v) for v in t.values())
    if isinstance(t, tuple):
        return any(_has_ref(e) for e in t)
    return False

