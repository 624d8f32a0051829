"""``ad.jit``'s compiler: a lowered program (``dualad.jit.lower``) as one numba function.

Consecutive elementwise steps of one shape become one loop: per element, each rule's value
and derivatives (the table's functions, compiled as for the chain kernels of ``loops.py``),
then one loop over the directions applying the chain rule (``loops.guarded_times``, THE
guarded product) through the whole run; only the results read later are stored. HyperDual
programs carry the packed Hessian part too: per element, the rule's second derivatives come
from the program ``higher.trace`` recorded for it (in the description), and the update is
HyperDual's (``hyper_chain1``/``hyper_chain2``). A roll read only by elementwise steps is
no array: those loops read its source at shifted indices. Indexing, reshapes, concatenation,
the other rolls and products with constant matrices are numpy calls inside the function.
A sum of a 1-d array adds its values pairwise and its partials row by row, in numpy's order;
the values of transcendental functions come from LLVM's math library and may differ from
numpy's in the last bit.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

import numba
import numpy as np

from ..rules.table import RULES
from .. import _compile
from .loops import add, as_float, env_key, guarded_times, rule_key, scalar_derivs


@numba.njit(nogil=True, error_model="numpy")
def _pairwise(a):
    """numpy's pairwise sum of a 1-d float64 array: blocks of at most 128 summed with eight
    accumulators, halves (at multiples of 8) added. Without recursion: numba's disk cache
    does not load a recursive function."""
    n = a.shape[0]
    if n <= 128:
        return _block(a, 0, n)
    # post-order over the halving tree: (start, length, children done) on a stack
    starts, lengths, stage = np.empty(64, np.int64), np.empty(64, np.int64), np.zeros(64, np.int64)
    sums = np.empty(64)
    top = 0
    starts[0], lengths[0], stage[0] = 0, n, 0
    depth = 0  # sums[0:depth]: finished subtrees waiting for their sibling
    while top >= 0:
        start, length = starts[top], lengths[top]
        if length <= 128:
            sums[depth] = _block(a, start, length)
            depth += 1
            top -= 1
            continue
        half = length // 2
        half -= half % 8
        if stage[top] == 0:  # first the left half, then the right one
            stage[top] = 1
            top += 1
            starts[top], lengths[top], stage[top] = start, half, 0
        elif stage[top] == 1:
            stage[top] = 2
            top += 1
            starts[top], lengths[top], stage[top] = start + half, length - half, 0
        else:  # both halves done: left + right
            depth -= 1
            sums[depth - 1] = sums[depth - 1] + sums[depth]
            top -= 1
    return sums[0]


@numba.njit(nogil=True, error_model="numpy")
def _block(a, start, n):
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - (n % 8):
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@numba.njit(nogil=True, error_model="numpy")
def _row_sum(p):
    """``p.sum(axis=0)`` of a 2-d array in numpy's order (row after row)."""
    out = p[0].copy()
    for i in range(1, p.shape[0]):
        for k in range(p.shape[1]):
            out[k] += p[i, k]
    return out


@numba.njit(nogil=True, error_model="numpy")
def _pairs(n):
    """``np.triu_indices(n)``: HyperDual's order of the packed Hessian part."""
    m = n * (n + 1) // 2
    first, second = np.empty(m, np.int64), np.empty(m, np.int64)
    q = 0
    for i in range(n):
        for j in range(i, n):
            first[q], second[q] = i, j
            q += 1
    return first, second


class _Unsupported(Exception):
    pass


def _key(env: Dict[str, Any]) -> Optional[str]:
    """The disk cache's key of a program besides its source: each ufunc it calls by its
    rule (``loops.rule_key``: the rule's code, dualad's and the libraries' versions), the
    comparisons by name; None (compiled in memory) where a rule cannot be keyed."""
    parts = []
    for name in sorted(env):
        ufunc = env[name]
        if name[0] in "UF" and name[1:2].isdigit():
            part = rule_key(ufunc) if ufunc in RULES else _compile.digest(
                "primal", getattr(ufunc, "__name__", None), env_key())
            if part is None:
                return None
            parts.append(f"{name}:{part}")
    return _compile.digest("jit program", env_key(), *parts)


#: the tangent parts of a slot kind, and the name of each part's trailing length
PARTS = {"dual": ("p",), "hyper": ("g", "h"), "array": ()}
WIDTH = {"p": "n", "g": "n", "h": "m"}


def compile_program(desc: List[Any], meta: List[Any], n_inputs: int,
                    cached_only: bool = False) -> Optional[Callable[[List[Any]], Any]]:
    """``call(arrays)``: the program's results as a flat tuple (per output slot its value
    and tangent parts), from its inputs' arrays in the same order; None where the
    description has a step this compiler does not take (or, with ``cached_only``, where it
    was not compiled before, in this process or into the disk cache). 0-d values are passed
    and returned as floats."""
    try:
        source, env, consts = _generate(desc, meta, n_inputs)
    except _Unsupported:
        return None
    key = _key(env)
    if cached_only and (key is None or not _compile.compiled_before(source, "program", key)):
        return None
    kernel = _compile.njit_source(source, "program", env, key, nogil=True,
                                  error_model="numpy")

    def call(arrays: List[Any]) -> Any:
        # (constants by reference: a contiguous copy only of those that are not)
        return kernel(*arrays, *[np.ascontiguousarray(c) for c in consts])
    call.kernel = kernel  # type: ignore[attr-defined]  # (numba's dispatcher: cache stats)
    return call


def _generate(desc: List[Any], meta: List[Any], n_inputs: int) -> Tuple[str, Dict[str, Any],
                                                                       List[Any]]:
    env: Dict[str, Any] = {"np": np, "_as_float": as_float, "_add": add,
                           "_times": guarded_times, "_pairwise": _pairwise,
                           "_row_sum": _row_sum, "_pairs": _pairs}
    consts: List[Any] = []
    params = []
    for s in range(n_inputs):
        params += [f"v{s}"] + [f"{t}{s}" for t in PARTS[meta[s][0]]]
    kinds = {m[0] for m in meta[:n_inputs]} - {"array"}
    if len(kinds) != 1:
        raise _Unsupported("no dual input, or two kinds")
    first = next(s for s in range(n_inputs) if meta[s][0] != "array")
    body = [f"n = {PARTS[meta[first][0]][0]}{first}.shape[-1]"]
    if "hyper" in kinds:
        body += ["m = n * (n + 1) // 2", "pi, pj = _pairs(n)"]
    ops, output = desc[:-1], desc[-1][1]
    rolled = _fused_rolls(ops, meta, output)
    uses: Dict[int, int] = {}  # slot -> position of its last reader (len(ops): the output)
    for j, op in enumerate(ops):
        for s in _reads(op):
            uses[s] = j
            if s in rolled:  # (read where the roll's reader is)
                uses[rolled[s][0]] = j
    for s in _slots(output):
        uses[s] = len(ops)

    def const(value: Any) -> str:
        for i, c in enumerate(consts):
            if c is value:
                return f"c{i}"
        consts.append(value)  # (by reference: made contiguous per call)
        params.append(f"c{len(consts) - 1}")
        return f"c{len(consts) - 1}"

    j = 0
    while j < len(ops):
        op = ops[j]
        if op[0] == "roll" and op[1] in rolled:  # (read shifted by the loops that use it)
            j += 1
            continue
        if op[0] in _ELEMENTWISE:
            run, end = [op], j + 1
            shape = meta[op[1]][1]
            while end < len(ops):
                nxt = ops[end]
                if nxt[0] == "roll" and nxt[1] in rolled:
                    end += 1
                    continue
                # (a shifted read of what this loop computes needs all of it first)
                if nxt[0] not in _ELEMENTWISE or meta[nxt[1]][1] != shape or any(
                        rolled[s][0] in {o[1] for o in run} for s in _reads(nxt) if s in rolled):
                    break
                run.append(nxt)
                end += 1
            later = {s for s, last in uses.items() if last >= end}
            body += _Loop(run, shape, meta, env, later, rolled).lines()
            j = end
            continue
        body += _statement(op, meta, const)
        j += 1
    returns = [f"{t}{s}" for s in _slots(output) for t in ("v",) + PARTS[meta[s][0]]]
    body.append("return (" + "".join(f"{r}, " for r in returns) + ")")
    source = "def program(" + ", ".join(params) + "):\n" + "\n".join("    " + b for b in body)
    return source, env, consts


def _slots(tmpl: Any) -> List[int]:
    if type(tmpl) is tuple and len(tmpl) == 2 and tmpl[0] == "s":
        return [tmpl[1]]
    return [s for t in tmpl for s in _slots(t)]


_ELEMENTWISE = ("ufunc", "where")


def _fused_rolls(ops: List[Any], meta: List[Any], output: Any) -> Dict[int, Tuple[int, tuple]]:
    """The rolls no array is made of: ``{slot: (source, shift per axis)}`` for each roll read
    only by elementwise steps of its shape (or by such rolls), which read its source at
    shifted indices instead (a roll of a roll composed into one)."""
    readers: Dict[int, List[Any]] = {}
    for op in ops:
        for s in _reads(op):
            readers.setdefault(s, []).append(op)
    composed: Dict[int, Tuple[int, tuple]] = {}
    for op in ops:
        if op[0] == "roll":
            out, src, shift, axis = op[1:]
            base, shifts = composed.get(src, (src, (0,) * len(meta[src][1])))
            shifts = tuple((t + shift) % length if d == axis else t
                           for d, (t, length) in enumerate(zip(shifts, meta[src][1])))
            composed[out] = (base, shifts)
    outputs, fused = set(_slots(output)), {}
    for op in reversed(ops):  # (a roll's readers come after it)
        out = op[1]
        if op[0] != "roll" or out in outputs:
            continue
        shape = meta[out][1]
        if all((r[0] in _ELEMENTWISE and meta[r[1]][1] == shape)
               or (r[0] == "roll" and r[1] in fused) for r in readers.get(out, ())):
            fused[out] = composed[out]
    return fused


def _reads(op: Any) -> List[int]:
    kind = op[0]
    if kind == "ufunc":
        return [o[1] for o in op[3] if o[0] == "s"]
    if kind == "where":
        return [o[1] for o in op[2] if o[0] == "s"]
    if kind in ("index", "sum", "mean", "reshape", "roll"):
        return [op[2]]
    if kind == "concat":
        return [o[1] for o in op[2] if o[0] == "s"]
    if kind == "matmul":
        return [o[1] for o in op[2:] if o[0] == "s"]
    raise _Unsupported(kind)


# --- one loop over a run of elementwise steps ------------------------------------------------
class _Loop:
    """The source of one loop over the elements of ``shape`` computing ``run``."""

    def __init__(self, run: List[Any], shape: Tuple[int, ...], meta: List[Any],
                 env: Dict[str, Any], later: set, rolled: Dict[int, Tuple[int, tuple]]) -> None:
        self.run, self.shape, self.meta, self.env, self.later = run, shape, meta, env, later
        self.rolled = rolled
        self.nd = len(shape)
        self.ix = ", ".join(f"i{d}" for d in range(self.nd))
        self.shifted: List[str] = []  # the element's shifted indices, computed once
        self.inside = {op[1] for op in run}
        self.values: List[str] = []
        self.tangents: Dict[str, List[str]] = {"p": [], "g": [], "h": []}
        self.stores: List[str] = []
        self.allocs: List[str] = []

    def at(self, s: int) -> Tuple[int, str]:
        """``(slot, index)`` where slot ``s`` is read at this element: a fused roll's source
        at shifted indices (``roll``: out[i] = a[i - shift], modulo the length)."""
        if s not in self.rolled:
            return s, self.ix
        base, shifts = self.rolled[s]
        index = []
        for d, (shift, length) in enumerate(zip(shifts, self.shape)):
            if shift == 0:
                index.append(f"i{d}")
                continue
            name, c = f"j{d}_{shift}", length - shift  # (i - shift mod L = i + c mod L)
            line = f"{name} = i{d} + {c} if i{d} < {shift} else i{d} - {shift}"
            if line not in self.shifted:
                self.shifted.append(line)
            index.append(name)
        return base, ", ".join(index)

    def val(self, o: Any) -> str:
        if o[0] == "c":
            return repr(o[1])
        s = o[1]
        if s in self.inside:
            return f"a{s}"
        if s in self.rolled:
            base, index = self.at(s)
            return f"v{base}[{index}]"
        if self.meta[s][1] == self.shape and self.nd:
            return f"v{s}[{self.ix}]"
        if self.meta[s][1] == ():
            return f"v{s}"
        raise _Unsupported("broadcasting")

    def tan(self, part: str, s: int, k: str) -> str:
        """Entry ``k`` of part ``part`` of slot ``s`` at this element."""
        if s in self.inside:
            return f"{part}{s}_[{k}]" if part != "p" else f"t{s}"
        if self.meta[s][1] == self.shape and self.nd:
            base, index = self.at(s)
            return f"{part}{base}[{index}, {k}]"
        return f"{part}{s}[{k}]"

    def lines(self) -> List[str]:
        for op in self.run:
            if op[0] == "where":
                self.where(*op[1:])
            else:
                self.step(*op[1:])
        lines = list(self.allocs)
        indent = ""
        for d in range(self.nd):
            lines.append(f"{indent}for i{d} in range({self.shape[d]}):")
            indent += "    "
        lines += [indent + v for v in self.shifted + self.values]
        for part, width in (("p", "n"), ("g", "n"), ("h", "m")):
            if self.tangents[part]:
                lines.append(f"{indent}for k in range({width}):")
                lines += [indent + "    " + t for t in self.tangents[part]]
        lines += [indent + s for s in self.stores]
        return lines

    def step(self, out: int, ufunc: Any, operands: Tuple[Any, ...], second: Any = None) -> None:
        self.env[f"U{out}"] = ufunc
        args = ", ".join(self.val(o) for o in operands)
        self.values.append(f"a{out} = U{out}({args})")
        kind = self.meta[out][0]
        self.store_value(out)
        if kind == "array":
            return
        rule = RULES[ufunc]
        live = [i for i, o in enumerate(operands)
                if o[0] == "s" and self.meta[o[1]][0] != "array"]
        parts = PARTS[kind]
        if kind == "hyper":
            for part in parts:  # this element's parts, reused by every element
                self.allocs.append(f"{part}{out}_ = np.empty({WIDTH[part]})")
        if rule.kind == "zero":
            self.set(out, parts, {part: "0.0" for part in parts})
        elif rule.kind == "linear":
            self.set(out, parts, {part: " + ".join(
                f"({self.scaled(part, operands[i][1], rule.derivs[i])})" for i in live)
                for part in parts})
        elif kind == "dual":
            self.dual_chain(out, ufunc, operands, live, args)
        else:
            self.hyper_chain(out, rule, operands, live, second)
        self.store_parts(out, parts)

    def where(self, out: int, operands: Tuple[Any, ...]) -> None:
        """``np.where(c, a, b)``: the value and every tangent part of the chosen operand (a
        constant's are zeros, as the ordinary route's)."""
        cond, a, b = (self.val(o) for o in operands)
        self.values.append(f"a{out} = {a} if {cond} else {b}")
        self.store_value(out)
        kind = self.meta[out][0]
        if kind == "array":
            return
        parts = PARTS[kind]
        if kind == "hyper":
            for part in parts:
                self.allocs.append(f"{part}{out}_ = np.empty({WIDTH[part]})")

        def tangent(part: str, o: Any) -> str:
            live = o[0] == "s" and self.meta[o[1]][0] != "array"
            return self.tan(part, o[1], "k") if live else "0.0"
        self.set(out, parts, {part: f"{tangent(part, operands[1])} if {cond} else "
                                    f"{tangent(part, operands[2])}" for part in parts})
        self.store_parts(out, parts)

    def store_value(self, out: int) -> None:
        if out in self.later:
            if self.nd:
                self.allocs.append(f"v{out} = np.empty({self.shape!r})")
                self.stores.append(f"v{out}[{self.ix}] = a{out}")
            else:
                self.stores.append(f"v{out} = a{out}")

    def store_parts(self, out: int, parts: Tuple[str, ...]) -> None:
        if out in self.later:
            for part in parts:
                shape = f"{self.shape!r} + ({WIDTH[part]},)" if self.nd else WIDTH[part]
                self.allocs.append(f"{part}{out} = np.empty({shape})")
                target = f"{part}{out}[{self.ix}, k]" if self.nd else f"{part}{out}[k]"
                source = f"t{out}" if part == "p" else f"{part}{out}_[k]"
                self.tangents[part].append(f"{target} = {source}")

    def scaled(self, part: str, s: int, c: Any) -> str:
        t = self.tan(part, s, "k")
        return t if c == 1.0 else (f"-{t}" if c == -1.0 else f"{t} * {c!r}")

    def set(self, out: int, parts: Tuple[str, ...], exprs: Dict[str, str]) -> None:
        for part in parts:
            target = f"t{out}" if part == "p" else f"{part}{out}_[k]"
            self.tangents[part].append(f"{target} = {exprs[part]}")

    def dual_chain(self, out: int, ufunc: Any, operands: Tuple[Any, ...], live: List[int],
                   args: str) -> None:
        rule = RULES[ufunc]
        for i, d in enumerate(scalar_derivs(ufunc)):
            self.env[f"D{out}_{i}"] = d
        guard = not rule.bounded
        if len(live) == 2 and operands[0] == operands[1]:  # x * x: one summed derivative
            self.values.append(f"f{out} = _add(D{out}_0({args}, a{out}), "
                               f"D{out}_1({args}, a{out}))")
            self.set(out, ("p",), {"p": f"_times({self.tan('p', operands[0][1], 'k')}, "
                                        f"f{out}, {guard})"})
            return
        terms = []
        for i in live:
            self.values.append(f"f{out}_{i} = _as_float(D{out}_{i}({args}, a{out}))")
            terms.append(f"_times({self.tan('p', operands[i][1], 'k')}, f{out}_{i}, {guard})")
        self.set(out, ("p",), {"p": " + ".join(terms)})

    def hyper_chain(self, out: int, rule: Any, operands: Tuple[Any, ...], live: List[int],
                    second: Any) -> None:
        if second is None:
            raise _Unsupported("no traced second derivatives")
        steps, constants, firsts, seconds = second
        names = [self.val(o) for o in operands] + [f"a{out}"]

        def slot(i: int) -> str:
            if i < len(names):
                return names[i]
            c = constants[i]
            if c is not None:
                if np.ndim(c) != 0:
                    raise _Unsupported("an array constant in second derivatives")
                return repr(float(c))
            return f"x{out}_{i}"
        for func, ins, o in steps:
            if func is np.where:
                a, b, c = (slot(i) for i in ins)
                expr = f"({b} if {a} else {c})"
            elif isinstance(func, np.ufunc):
                self.env[f"F{out}_{o}"] = func
                expr = f"F{out}_{o}(" + ", ".join(slot(i) for i in ins) + ")"
            elif getattr(func, "__name__", "") == "times_array":  # (guarded product)
                expr = f"_times({slot(ins[0])}, {slot(ins[1])}, True)"
            else:
                raise _Unsupported(getattr(func, "__name__", "?"))
            self.values.append(f"x{out}_{o} = _as_float({expr})")
        guard = not rule.bounded
        f1 = [slot(s) for s in firsts]
        f2 = [[slot(s) for s in row] for row in seconds]

        def g(k: str, which: int) -> str:
            return self.tan("g", operands[live[which]][1], k)

        def h(q: str, which: int) -> str:
            return self.tan("h", operands[live[which]][1], q)
        if len(live) == 1:
            grad = f"_times({g('k', 0)}, {f1[0]}, {guard})"
            hess = (f"_times({g('pi[k]', 0)} * {g('pj[k]', 0)}, {f2[0][0]}, {guard})"
                    f" + _times({h('k', 0)}, {f1[0]}, {guard})")
        else:
            grad = f"_times({g('k', 0)}, {f1[0]}, {guard}) + _times({g('k', 1)}, {f1[1]}, {guard})"
            ui, uj, wi, wj = g("pi[k]", 0), g("pj[k]", 0), g("pi[k]", 1), g("pj[k]", 1)
            hess = (f"_times({ui} * {uj}, {f2[0][0]}, {guard})"
                    f" + _times({ui} * {wj} + {wi} * {uj}, {f2[0][1]}, {guard})"
                    f" + _times({wi} * {wj}, {f2[1][1]}, {guard})"
                    f" + _times({h('k', 0)}, {f1[0]}, {guard})"
                    f" + _times({h('k', 1)}, {f1[1]}, {guard})")
        self.set(out, ("g", "h"), {"g": grad, "h": hess})


# --- the other steps, as numpy calls ----------------------------------------------------------
def _statement(op: Any, meta: List[Any], const: Callable[[Any], str]) -> List[str]:
    kind, out = op[0], op[1]
    parts = PARTS[meta[out][0]]
    if kind == "index":
        src, items = op[2], op[3]
        index = []
        for it in items:
            if it[0] == "int":
                index.append(str(it[1]))
            elif it[0] == "slice":
                index.append(":".join("" if b is None else str(b) for b in it[1:]))
            elif it[0] == "none":
                raise _Unsupported("np.newaxis")
            elif it[0] == "ellipsis":
                index.append("...")
            else:
                index.append(const(it[1]))
        ellipsis = any(it[0] == "ellipsis" for it in items)
        tail = ", ".join(index + [":"]) if ellipsis else ", ".join(index + ["..."])
        return [f"v{out} = v{src}[{', '.join(index) or '...'}]"] + [
            f"{t}{out} = {t}{src}[{tail}]" for t in parts]
    if kind in ("sum", "mean"):
        src = op[2]
        shape = meta[src][1]
        if len(shape) > 1:
            raise _Unsupported("a sum over several axes")
        scale = f" / {shape[0] if shape else 1}" if kind == "mean" else ""
        if not shape:
            return [f"v{out} = v{src}{scale}"] + [f"{t}{out} = {t}{src}{scale}" for t in parts]
        return [f"v{out} = _pairwise(v{src}){scale}"] + [
            f"{t}{out} = _row_sum({t}{src}){scale}" for t in parts]
    if kind == "reshape":
        src, shape = op[2], op[3]
        if shape:
            value = f"v{out} = np.ascontiguousarray(v{src}).reshape({shape!r})"
        else:
            value = f"v{out} = v{src}.reshape(-1)[0]" if meta[src][1] else f"v{out} = v{src}"
        return [value] + [
            f"{t}{out} = np.ascontiguousarray({t}{src}).reshape({shape!r} + ({WIDTH[t]},))"
            for t in parts]
    if kind == "roll":  # out[i] = a[(i - shift) mod L] along the axis: two slices
        src, shift, axis = op[2], op[3], op[4]
        length = meta[src][1][axis]
        cut = length - shift % length
        lead = ":, " * axis
        return [f"{t}{out} = np.concatenate(({t}{src}[{lead}{cut}:], {t}{src}[{lead}:{cut}]), "
                f"axis={axis})" if cut != length else f"{t}{out} = {t}{src}.copy()"
                for t in ("v",) + parts]
    if kind == "concat":
        vals: List[str] = []
        tans: Dict[str, List[str]] = {t: [] for t in parts}
        for o in op[2]:
            name = const(o[1]) if o[0] == "c" else f"v{o[1]}"
            vals.append(name)
            for t in parts:
                own = o[0] == "s" and meta[o[1]][0] != "array"
                tans[t].append(f"{t}{o[1]}" if own else
                               f"np.zeros(({name}.shape[0], {WIDTH[t]}))")
        return [f"v{out} = np.concatenate(({', '.join(vals)},))"] + [
            f"{t}{out} = np.concatenate(({', '.join(tans[t])},))" for t in parts]
    if kind == "matmul":
        a, b = op[2], op[3]
        if a[0] == "c":  # C @ x: the parts are C @ part
            c = const(a[1])
            return [f"v{out} = {c} @ np.ascontiguousarray(v{b[1]})"] + [
                f"{t}{out} = {c} @ np.ascontiguousarray({t}{b[1]})" for t in parts]
        if len(meta[a[1]][1]) != 1:
            raise _Unsupported("a matrix dual times a matrix")
        c = const(b[1])  # x @ C: the parts are C.T @ part
        return [f"v{out} = np.ascontiguousarray(v{a[1]}) @ {c}"] + [
            f"{t}{out} = np.ascontiguousarray({c}.T) @ np.ascontiguousarray({t}{a[1]})"
            for t in parts]
    raise _Unsupported(kind)
