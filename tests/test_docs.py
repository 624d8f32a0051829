"""The documentation runs: README.md and every page under docs/.

* Every fenced ```python block of a page runs, the blocks of one page in order in one shared
  namespace, with the repository root as the working directory. A block whose first line is
  ``# requires: scipy`` (import names, comma-separated) is skipped when one of them is not
  installed; the page then reports a skip after its other blocks ran. Blocks in other
  languages (bash, text) are not run.
* In README.md, a line ``print(...)  # text`` must print exactly ``text``.
* README.md stays short (≤ 12,000 characters) and the user-facing pages name no private
  module or tunable.
* ``mkdocs build --strict`` succeeds (skipped when mkdocs is not installed).
"""
import builtins
import importlib.util
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README] + sorted(DOCS.rglob("*.md"))
USER_PAGES = [README, DOCS / "index.md"] + sorted((DOCS / "user").glob("*.md"))
README_MAX_CHARS = 12_000

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)
REQUIRES = re.compile(r"#\s*requires:\s*(?P<mods>[\w.,\s]+)$")
PRIVATE = re.compile(
    r"dualad(?:[./]\w+)*[./]_(?!_)\w*"                  # dualad._fused, dualad/_rules.py, ...
    r"|\b_(?:fused|lazy|kernels|vmath|trace|rules|partials|tags|ufunc|functions|bilinear"
    r"|linalg|special|assign|mlp|pytree|cscalar|Operators)\b"
    r"|\b(?:MIN_SIZE|MIN_WORK|TERMS_MIN_N|TERMS_MAX_PACKED|IDENTITY_MAX_N|FALLBACK)\b"
    r"|\bdualad[./](?:core|accel|rules|higher)\b")    # the internal layers
REGISTERS = re.compile(r"register_(?:ufunc|function)\(\s*(?P<what>[\w.]+)")


def _rel(page):
    return page.relative_to(ROOT).as_posix()


def python_blocks(page):
    """``(first line number, source)`` of every ```python block of ``page``, in order."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        if m.group("lang") == "python":
            line = text.count("\n", 0, m.start("body")) + 1
            blocks.append((line, textwrap.dedent(m.group("body"))))
    return blocks


def _missing(source):
    first = source.lstrip().splitlines()[0] if source.strip() else ""
    m = REQUIRES.match(first.strip())
    if not m:
        return []
    mods = [s.strip() for s in m.group("mods").split(",") if s.strip()]
    return [mod for mod in mods if importlib.util.find_spec(mod) is None]


class _Printed:
    """A ``print`` for the namespace of a page: prints, and records (line, text) of calls
    made directly from the page's code."""

    def __init__(self, filename):
        self.filename, self.calls = filename, []

    def __call__(self, *args, **kwargs):
        buf = io.StringIO()
        builtins.print(*args, **{**kwargs, "file": buf})
        builtins.print(buf.getvalue(), end="", file=kwargs.get("file", sys.stdout))
        frame = sys._getframe(1)
        if frame.f_code.co_filename == self.filename and "file" not in kwargs:
            self.calls.append((frame.f_lineno, buf.getvalue().rstrip("\n")))


def _expected_outputs(source, first_line):
    """{page line: comment} for lines ``print(...)  # comment`` of a block."""
    out = {}
    for i, line in enumerate(source.splitlines()):
        m = re.match(r"\s*print\(.*\)\s+# (?P<text>.*)$", line)
        if m:
            out[first_line + i] = m.group("text").strip()
    return out


def _check_printed(calls, expected):
    got = {}
    for lineno, text in calls:
        got.setdefault(lineno, text)
    for lineno, text in expected.items():
        printed = got.get(lineno, "<nothing printed>")
        assert " ".join(printed.split()) == " ".join(text.split()), \
            f"README.md line {lineno}: prints {printed!r}, its comment says {text!r}"


def _unregister_leftovers(blocks, namespace):
    """Undo the registrations a page made if it failed before undoing them itself, so that
    a broken page cannot change what the rest of the test suite sees."""
    import dualad as ad
    for _, source in blocks:
        for m in REGISTERS.finditer(source):
            try:
                ad.unregister(eval(m.group("what"), namespace))
            except Exception:   # not registered (any more), or never defined
                pass


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_code_blocks_run(page, monkeypatch):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{_rel(page)} has no python blocks")
    monkeypatch.chdir(ROOT)
    filename = str(page)
    printed = _Printed(filename)
    namespace = {"__name__": "__docs__", "print": printed}
    skipped = []
    try:
        for line, source in blocks:
            missing = _missing(source)
            if missing:
                skipped.append(f"line {line} (needs {', '.join(missing)})")
                continue
            # pad with newlines so tracebacks and line numbers point into the page itself
            code = compile("\n" * (line - 1) + source, filename, "exec")
            exec(code, namespace)
            if page == README:
                _check_printed(printed.calls, _expected_outputs(source, line))
    finally:
        _unregister_leftovers(blocks, namespace)
    if skipped:
        pytest.skip(f"{_rel(page)}: other blocks ran; skipped block at " + "; ".join(skipped))


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8"))
    assert n <= README_MAX_CHARS, f"README.md has {n} characters (at most {README_MAX_CHARS})"


@pytest.mark.parametrize("page", USER_PAGES, ids=_rel)
def test_no_private_names(page):
    text = page.read_text(encoding="utf-8")
    found = sorted({m.group(0) for m in PRIVATE.finditer(text)})
    assert not found, f"{_rel(page)} names private internals: {found}"


def test_private_name_pattern():
    for bad in ["dualad._fused.MIN_SIZE", "`dualad/_rules.py`", "_lazy", "MIN_WORK",
                "scalar._Operators", "hyperdual.TERMS_MIN_N", "dualad.core.partials",
                "dualad/accel/fused.py"]:
        assert PRIVATE.search(bad), bad
    for good in ["dualad.math", "dualad.testing.strategies", "ad.custom_jvp", "__init__",
                 "dualad.__version__"]:
        assert not PRIVATE.search(good), good


def test_every_page_in_nav():
    if not (ROOT / "mkdocs.yml").exists():
        pytest.fail("mkdocs.yml is missing")
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        assert page.relative_to(DOCS).as_posix() in nav, f"{_rel(page)} is not in mkdocs.yml's nav"


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                          "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
