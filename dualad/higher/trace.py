"""A rule's second derivatives, traced once from the table into a straight-line program.

``HyperDual`` needs each rule's first and second derivatives in its live arguments. They come
from the rule table itself: the rule's derivative functions, differentiated forward with the
table's own rules. Running them on a dispatching number type (DualNumber) costs tens of µs
per operation on the small arrays of a Hessian, nearly all of it dispatch. So the first call
for a (ufunc, live arguments) pair runs them on tracing nodes: each node holds its value and,
per live argument, its tangent as another node; every numpy call is recorded as a step.
Later calls replay the steps: a list of plain numpy calls, no dispatch, no objects.

Values steer a trace only through guards: ``np.all``, ``np.any`` or ``bool`` of a node
record their answer, and a replay whose guard answers otherwise is traced again. Anything
else a trace cannot model (other array functions, conversion to float, attributes) raises
``Untraceable``, and the caller takes the DualNumber route. Traces and replays run with
floating-point warnings silenced, as ``apply_rule`` does around derivatives (the values
warned already).

>>> import numpy as np
>>> from dualad.rules import RULES
>>> x = np.array([0.0, 1.0])
>>> firsts, seconds = second_derivatives(np.sin, RULES[np.sin], [x], (0,), np.sin(x))
>>> np.allclose(firsts[0], np.cos(x)), np.allclose(seconds[0][0], -np.sin(x))
(True, True)
"""
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .. import config
from ..core.partials import times_array
from ..rules.table import RULES
from ..rules.ufuncs import PRIMAL


class Untraceable(Exception):
    """The derivative function used something a trace does not model."""


class _Failed:
    """A rule whose trace raised: the calls to skip before the next try (doubling per
    failure), and why. A derivative may raise at some points only (a domain check), so a
    failure is tried again later; after ``_MAX_TRIES`` failures the rule keeps the nested
    route for good."""

    __slots__ = ("tries", "wait", "reason")

    def __init__(self) -> None:
        self.tries, self.wait, self.reason = 0, 0, ""


_MAX_TRIES = 8


class _Stale(Exception):
    """A guard of a recorded program answered otherwise: trace again."""


class _Node(NDArrayOperatorsMixin):
    """A traced value: slot ``index`` of its tape, and its tangents (None: constant)."""

    __slots__ = ("tape", "index", "value", "tangents")

    def __init__(self, tape, index, value, tangents=None):
        self.tape, self.index, self.value, self.tangents = tape, index, value, tangents

    def bare(self):
        return self if self.tangents is None else _Node(self.tape, self.index, self.value)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or ufunc.nout != 1:
            raise Untraceable(f"{ufunc.__name__}.{method}")
        return self.tape.ufunc(ufunc, inputs)

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.all, np.any) and len(args) == 1 and not kwargs:
            return self.tape.guard(func, args[0])
        if func is np.where and len(args) == 3 and not kwargs:
            return self.tape.where(*args)
        raise Untraceable(func.__name__)

    def __bool__(self):
        return self.tape.guard(bool, self)

    def __array__(self, dtype=None, copy=None):
        raise Untraceable("conversion to an array")

    def __float__(self):
        raise Untraceable("conversion to a number")

    __int__ = __complex__ = __index__ = __float__


class _Tape:
    """Records steps ``(function, input slots, output slot, guard answer or None)``."""

    def __init__(self, k):
        self.k = k
        self.values, self.consts, self.steps, self.seen = [], {}, [], {}
        self.one = self.zero = None  # made after the inputs and the answer (slots 0, 1, ...)

    def slot(self, value, tangents=None):
        node = _Node(self, len(self.values), value, tangents)
        self.values.append(value)
        return node

    def const(self, value):
        if isinstance(value, _Node):
            if value.tape is not self:
                raise Untraceable("a node of another trace")
            return value
        if not isinstance(value, (bool, int, float, np.generic)) and not (
                type(value) is np.ndarray and value.ndim == 0):  # (a folded np.where)
            raise Untraceable(f"a constant of type {type(value).__name__}")
        node = self.slot(value)
        self.consts[node.index] = value
        return node

    def call(self, func, operands):
        """``func`` of the operands' values, recorded (constants folded, repeats shared)."""
        ins = [self.const(a) for a in operands]
        if all(a.index in self.consts for a in ins):
            return self.const(func(*(a.value for a in ins)))
        key = (func, tuple(a.index for a in ins))
        if key not in self.seen:
            out = self.slot(func(*(a.value for a in ins)))
            self.steps.append((func, key[1], out.index, None))
            self.seen[key] = out.index
        index = self.seen[key]
        return _Node(self, index, self.values[index])

    def guard(self, func, node):
        node = self.const(node).bare()
        answer = bool(func(node.value))
        self.steps.append((func, (node.index,), None, answer))
        return answer

    def add(self, a, b):
        return b if a is None else self.call(np.add, (a, b))

    def scale(self, t, c):
        return t if c == 1.0 else self.call(np.negative, (t,)) if c == -1.0 \
            else self.call(np.multiply, (t, c))

    def chain(self, t, d, guard):
        if t is self.one:
            return self.const(d)
        return self.call(times_array if guard else np.multiply, (t, d))

    def ufunc(self, ufunc, inputs):
        rule = RULES.get(ufunc)
        nodes = [self.const(a) for a in inputs]
        constant = all(a.tangents is None for a in nodes)
        if rule is None and ufunc not in PRIMAL and not constant:
            raise Untraceable(ufunc.__name__)
        out = self.call(ufunc, [a.bare() for a in nodes])
        if constant or rule is None or rule.kind == "zero":
            return out  # comparisons, sign, floor, (x >= y) | isnan(y): no tangent
        bare = [a.bare() for a in nodes]
        tangents = [None] * self.k
        for a, d in zip(nodes, rule.derivs):
            if a.tangents is None:
                continue
            if rule.kind == "linear":  # constant coefficients, as for DualNumber
                terms = [None if t is None else self.scale(t, d) for t in a.tangents]
            elif d is None:
                raise Untraceable(f"{ufunc.__name__}: an argument that must be constant")
            else:
                deriv = self.const(d(*bare, out))
                terms = [None if t is None else self.chain(t, deriv, not rule.bounded)
                         for t in a.tangents]
            tangents = [s if t is None else self.add(s, t) for s, t in zip(tangents, terms)]
        return self.with_tangents(out, tangents)

    def with_tangents(self, node, tangents):
        return _Node(self, node.index, node.value,
                     None if all(t is None for t in tangents) else tuple(tangents))

    def where(self, cond, a, b):
        cond, a, b = (self.const(v) for v in (cond, a, b))
        out = self.call(np.where, (cond.bare(), a.bare(), b.bare()))
        ta = a.tangents or (None,) * self.k
        tb = b.tangents or (None,) * self.k
        return self.with_tangents(out, [
            None if s is None and t is None else self.call(
                np.where, (cond, self.zero if s is None else s, self.zero if t is None else t))
            for s, t in zip(ta, tb)])


class _Program:
    """The recorded steps that give (f', f'') of one (ufunc, live arguments) pair."""

    __slots__ = ("template", "steps", "firsts", "seconds", "single", "n_inputs", "fixed_by")

    def __init__(self, tape, n_inputs, firsts, seconds, live):
        needed = set(firsts) | {s for row in seconds for s in row if s is not None}
        steps = []
        for step in reversed(tape.steps):  # dead steps (third-order tangents, ...) dropped
            func, ins, out, answer = step
            if answer is not None or out in needed:
                steps.append(step)
                needed.update(ins)
        self.steps = steps[::-1]
        # a zero second derivative reads a slot holding 0.0 (one more than the tape's)
        self.template = [tape.consts.get(i) for i in range(len(tape.values))] + [0.0]
        zero = len(tape.values)
        self.firsts = firsts
        self.seconds = [[zero if s is None else s for s in row] for row in seconds]
        self.single = (firsts[0], self.seconds[0][0]) if len(firsts) == 1 else None
        self.n_inputs = n_inputs
        # the positions of the constant operands, where (f', f'') depend on nothing else
        # (x / 2, 3 * x: second_derivatives keeps their answers per constant), else None
        varying = set(live) | {n_inputs}  # (the live arguments, the answer, what reads them)
        for func, ins, out, answer in self.steps:
            if not varying.isdisjoint(ins):
                if out is None:  # a guard on a varying value
                    varying = None
                    break
                varying.add(out)
        read = set(firsts) | {s for row in seconds for s in row if s is not None}
        self.fixed_by = None if varying is None or not varying.isdisjoint(read) else tuple(
            i for i in range(n_inputs) if i not in live)

    def run(self, values, ans):
        vals = self.template[:]
        vals[:self.n_inputs] = values
        vals[self.n_inputs] = ans
        for func, ins, out, answer in self.steps:
            r = func(*[vals[i] for i in ins])
            if out is not None:
                vals[out] = r
            elif bool(r) != answer:
                raise _Stale
        return self.answers(vals)

    def answers(self, vals):
        if self.single is not None:  # (one live argument, the usual case)
            first, second = self.single
            return [vals[first]], [[vals[second]]]
        return [vals[i] for i in self.firsts], [[vals[s] for s in row] for row in self.seconds]


def _trace(ufunc, rule, values, live, ans):
    """Run the derivative functions on nodes: the program, and the answers of this call."""
    k = len(live)
    tape = _Tape(k)
    inputs = [tape.slot(v) for v in values]  # slots 0 .. len(values), then the answer
    out = tape.slot(ans)
    tape.seen[(ufunc, tuple(range(len(values))))] = out.index  # ufunc(*values) is ans
    tape.one, tape.zero = tape.const(1.0), tape.const(0.0)
    bare = [n.bare() for n in inputs]
    for s, a in enumerate(live):
        inputs[a].tangents = tuple(tape.one if t == s else None for t in range(k))
    # ans's tangent (for derivatives that read it): f' in each live argument
    out.tangents = tuple(tape.const(rule.derivs[a](*bare, out.bare())) for a in live)
    firsts, seconds = [], []
    for a in live:
        d = tape.const(rule.derivs[a](*inputs, out))
        firsts.append(d.index)
        seconds.append([None if d.tangents is None or d.tangents[s] is None
                        else d.tangents[s].index for s in range(k)])
    program = _Program(tape, len(values), firsts, seconds, live)
    return program, program.answers(tape.values + [0.0])


_PROGRAMS: dict[Any, Any] = {}
_NONE = (None, None)
# (program key, constant operands) -> answers, for programs with fixed_by
_BY_CONSTANTS: dict[Any, Any] = {}


@np.errstate(divide="ignore", invalid="ignore", over="ignore")  # (cheaper than a with)
def _quiet_run(program, values, ans):
    # the values warned already, in the operation itself
    return program.run(values, ans)


def forget():
    """Drop every program: one may call a ufunc whose rule changed (custom.register_ufunc)."""
    _PROGRAMS.clear()
    _BY_CONSTANTS.clear()


def recorded(ufunc, rule, live, n_values):
    """The traced program of (ufunc, live arguments) as plain data, for a compiler:
    ``(steps, constants, firsts, seconds)`` with steps ``(func, input slots, output slot)``
    over slots 0.. (the arguments, then the answer, then the tape's), ``constants`` the
    constant slots' values (None elsewhere), ``firsts[a]`` and ``seconds[a][b]`` the slots
    of f' and f''. None where there is none yet, it failed, or it has guards.

    >>> x = np.array([0.5])
    >>> _ = second_derivatives(np.sin, RULES[np.sin], [x], (0,), np.sin(x))
    >>> steps, constants, firsts, seconds = recorded(np.sin, RULES[np.sin], (0,), 1)
    >>> [f.__name__ for f, _, _ in steps]
    ['cos', 'negative']
    """
    traced, program = _PROGRAMS.get((ufunc, live, n_values), _NONE)
    if traced is not rule or type(program) is not _Program or any(
            answer is not None for _, _, _, answer in program.steps):
        return None
    return ([(func, ins, out) for func, ins, out, _ in program.steps], list(program.template),
            list(program.firsts), [list(row) for row in program.seconds])


def second_derivatives(ufunc, rule, values, live, ans):
    """``(firsts, seconds)``: f' in each live argument, and the Hessian in them (0.0 where
    zero), as values broadcastable to the output. Raises ``Untraceable`` (see above)."""
    key = (ufunc, live, len(values))
    traced, program = _PROGRAMS.get(key, _NONE)
    failed = None
    if traced is rule and type(program) is _Failed:
        if program.tries >= _MAX_TRIES or program.wait > 0:
            program.wait -= 1
            raise Untraceable(f"{ufunc.__name__}: {program.reason}")
        failed = program  # its turn to be traced again
    elif traced is rule:  # (else: not traced yet, or a rule registered again: trace anew)
        try:
            if program.fixed_by is not None:
                constants = tuple(values[i] for i in program.fixed_by)
                if all(type(c) is float and c == c and c != 0.0 for c in constants):
                    # (numbers: not nan, which has no key, nor ±0.0, which share one)
                    answers = _BY_CONSTANTS.get((key, constants))
                    if answers is None:
                        if len(_BY_CONSTANTS) >= 1024:
                            _BY_CONSTANTS.clear()
                        answers = _quiet_run(program, values, ans)
                        _BY_CONSTANTS[key, constants] = answers
                    return answers
            # (x / 2, 100 * x: no steps, nothing to compute, nothing can warn)
            return _quiet_run(program, values, ans) if program.steps else \
                program.run(values, ans)
        except _Stale:  # (a guard answered otherwise: traced again below)
            pass
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        try:
            program, answers = _trace(ufunc, rule, values, live, ans)
        except Exception as e:  # noqa: BLE001  (what a node met: attributes, bool of many)
            failed = failed or _Failed()
            failed.tries += 1
            failed.wait = 2 ** failed.tries
            failed.reason = f"{type(e).__name__}: {e}"
            _PROGRAMS[key] = (rule, failed)
            raise Untraceable(f"{ufunc.__name__}: {e}") from e
    _PROGRAMS[key] = (rule, program)
    return answers


config.register_cache("higher.trace", forget, lambda ufunc: forget())
