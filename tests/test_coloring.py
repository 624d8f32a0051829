"""Colorings of sparsity patterns and the recovery of sparse matrices (dualad/sparse/coloring.py).

Oracles are independent of the code under test: a column colouring is checked row by row on the
dense mask, a star colouring by enumerating every path on four vertices of the dense adjacency
matrix, and decompression against the dense matrix itself (it only copies numbers: bit for bit).
"""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from dualad.sparse import coloring as col
from dualad.sparse.coloring import (Pattern, check_coloring, column_coloring, decompress_columns,
                                    decompress_rows, decompress_star, row_coloring, seed_matrix,
                                    star_coloring)

ORDERS = col.ORDERS


# --- random patterns -------------------------------------------------------------------------

@st.composite
def masks(draw, max_side=60, square=False, symmetric=False):
    m = draw(st.integers(1, max_side))
    n = m if square or symmetric else draw(st.integers(1, max_side))
    density = draw(st.sampled_from([0.0, 0.02, 0.05, 0.1, 0.3, 0.6, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random((m, n)) < density
    if symmetric:
        mask = mask | mask.T
        np.fill_diagonal(mask, rng.random(m) < 0.7)  # diagonal entries present or not
    return mask


def random_matrix(mask, seed, symmetric=False):
    rng = np.random.default_rng(seed)
    a = np.where(mask, rng.standard_normal(mask.shape), 0.0)
    if symmetric:
        a = np.triu(a) + np.triu(a, 1).T
    return a


def entries(mask, a):
    """The entries of ``a`` at the pattern's positions, in CSR order."""
    rows, cols = np.nonzero(mask)
    return a[rows, cols]


# --- oracles -----------------------------------------------------------------------------------

def column_valid(mask, colors):
    return all(len(set(colors[np.flatnonzero(row)])) == row.sum() for row in mask)


def bicolored_p4(mask, colors):
    """Whether some path a-b-c-d on four distinct vertices of the adjacency graph (diagonal
    ignored) has colours x, y, x, y: every such path enumerated on the dense matrix."""
    a = mask.copy()
    np.fill_diagonal(a, False)
    n = len(a)
    ne = ~np.eye(n, dtype=bool)
    path = (a[:, :, None, None] & a[None, :, :, None] & a[None, None, :, :]  # a-b, b-c, c-d
            & ne[:, None, :, None] & ne[None, :, None, :] & ne[:, None, None, :])
    same = colors[:, None] == colors[None, :]
    two = same[:, None, :, None] & same[None, :, None, :]  # col a == col c, col b == col d
    return bool((path & two).any())


def star_valid(mask, colors):
    a = mask & ~np.eye(len(mask), dtype=bool)
    proper = not (a & (colors[:, None] == colors[None, :])).any()
    return proper and not bicolored_p4(mask, colors)


# --- validity and exact recovery on random patterns --------------------------------------------

@given(masks(), st.sampled_from(ORDERS), st.integers(0, 2**32 - 1))
def test_column_coloring_is_valid_and_recovers_J_exactly(mask, order, seed):
    p = Pattern.from_dense(mask)
    colors = column_coloring(p, order)
    assert colors.shape == (mask.shape[1],)
    assert set(np.unique(colors)) == set(range(colors.max() + 1))  # colours 0..c-1, all used
    assert column_valid(mask, colors)
    assert check_coloring(p, colors, "column")
    J = random_matrix(mask, seed)
    S = seed_matrix(colors)
    assert np.array_equal(decompress_columns(J @ S, p, colors), entries(mask, J))


@given(masks(), st.sampled_from(ORDERS), st.integers(0, 2**32 - 1))
def test_row_coloring_is_valid_and_recovers_J_exactly(mask, order, seed):
    p = Pattern.from_dense(mask)
    colors = row_coloring(p, order)
    assert colors.shape == (mask.shape[0],)
    assert column_valid(mask.T, colors)
    assert check_coloring(p, colors, "row")
    J = random_matrix(mask, seed)
    S = seed_matrix(colors)
    assert np.array_equal(decompress_rows(S.T @ J, p, colors), entries(mask, J))


@given(masks(max_side=24, symmetric=True), st.sampled_from(ORDERS), st.integers(0, 2**32 - 1))
def test_star_coloring_has_no_bicolored_path_and_recovers_H_exactly(mask, order, seed):
    p = Pattern.from_dense(mask)
    colors = star_coloring(p, order)
    assert colors.shape == (len(mask),)
    assert star_valid(mask, colors)
    assert check_coloring(p, colors, "star")
    H = random_matrix(mask, seed, symmetric=True)
    S = seed_matrix(colors)
    assert np.array_equal(decompress_star(H @ S, p, colors), entries(mask, H))


@given(masks(max_side=60, symmetric=True), st.sampled_from(ORDERS), st.integers(0, 2**32 - 1))
def test_star_recovery_on_larger_patterns(mask, order, seed):
    # beyond the size where paths are enumerated: exact recovery is the test
    p = Pattern.from_dense(mask)
    colors = star_coloring(p, order)
    H = random_matrix(mask, seed, symmetric=True)
    assert np.array_equal(decompress_star(H @ seed_matrix(colors), p, colors), entries(mask, H))


@given(masks(max_side=12, symmetric=True), st.integers(0, 2**32 - 1))
def test_check_coloring_agrees_with_the_oracles_on_random_colorings(mask, seed):
    rng = np.random.default_rng(seed)
    colors = rng.integers(0, rng.integers(1, len(mask) + 1), size=len(mask))
    p = Pattern.from_dense(mask)
    assert check_coloring(p, colors, "column") == column_valid(mask, colors)
    assert check_coloring(p, colors, "row") == column_valid(mask.T, colors)
    assert check_coloring(p, colors, "star") == star_valid(mask, colors)


def test_the_p4_oracle_finds_a_bicolored_path():
    path = np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)  # 0-1-2-3
    assert bicolored_p4(path, np.array([0, 1, 0, 1]))
    assert not bicolored_p4(path, np.array([0, 1, 0, 2]))
    assert not star_valid(path, np.array([0, 1, 0, 1]))


def test_an_invalid_coloring_is_refused_not_decompressed():
    mask = np.ones((3, 3), dtype=bool)
    p = Pattern.from_dense(mask)
    colors = np.array([0, 0, 1])
    with pytest.raises(ValueError, match="dualad: the column colouring does not fit"):
        decompress_columns(np.ones((3, 2)), p, colors)
    with pytest.raises(ValueError, match="dualad: the row colouring does not fit"):
        decompress_rows(np.ones((2, 3)), p, colors)
    with pytest.raises(ValueError, match="dualad: the star colouring does not fit"):
        decompress_star(np.ones((3, 2)), p, colors)
    path = Pattern.from_dense(np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool))
    with pytest.raises(ValueError, match="dualad: the colouring is not a star colouring"):
        decompress_star(np.ones((4, 2)), path, [0, 1, 0, 1])


def test_bad_inputs_get_clear_errors():
    p = Pattern.from_dense(np.eye(3, dtype=bool))
    with pytest.raises(ValueError, match="dualad: J @ S must have shape"):
        decompress_columns(np.ones((3, 2)), p, [0, 0, 0])
    with pytest.raises(ValueError, match="dualad: order must be one of"):
        column_coloring(p, order="random")
    with pytest.raises(ValueError, match="permutation"):
        column_coloring(p, order=[0, 0, 1])
    with pytest.raises(ValueError, match="one integer colour per vertex"):
        seed_matrix([0.5, 1.0])
    with pytest.raises(ValueError, match="symmetric pattern"):
        star_coloring(np.triu(np.ones((3, 3))))
    with pytest.raises(ValueError, match="square"):
        star_coloring(np.ones((2, 3)))
    with pytest.raises(ValueError, match="kind must be one of"):
        check_coloring(p, [0, 0, 0], "acyclic")
    with pytest.raises(TypeError, match="dualad: a sparsity pattern must be"):
        column_coloring("pattern")
    with pytest.raises(ValueError, match="indptr must rise"):
        Pattern.make([0, 2, 1], [0, 1], (2, 2))
    with pytest.raises(ValueError, match="column indices must lie"):
        Pattern.make([0, 1], [3], (1, 2))


def test_an_explicit_order_is_followed():
    path = Pattern.from_dense(np.eye(3, k=1, dtype=bool) | np.eye(3, k=-1, dtype=bool))
    # rows {1}, {0, 2}, {1}: only columns 0 and 2 share a row
    assert column_coloring(path, order=[2, 0, 1]).tolist() == [1, 0, 0]
    assert column_coloring(path, order=[0, 1, 2]).tolist() == [0, 0, 1]


# --- patterns: construction and conversions ----------------------------------------------------

@given(masks())
def test_pattern_transpose_and_dense_round_trip(mask):
    p = Pattern.from_dense(mask)
    assert np.array_equal(p.to_dense(), mask)
    t = p.transpose()
    assert t.shape == mask.T.shape
    assert np.array_equal(t.to_dense(), mask.T)
    assert np.array_equal(t.indices, Pattern.from_dense(mask.T).indices)
    assert np.array_equal(t.indptr, Pattern.from_dense(mask.T).indptr)
    sq = mask[:min(mask.shape), :min(mask.shape)]
    assert np.array_equal(Pattern.from_dense(sq).symmetrized().to_dense(), sq | sq.T)
    assert Pattern.from_dense(sq | sq.T).is_symmetric()


def test_make_sorts_and_merges_duplicates():
    p = Pattern.make([0, 3, 4], [2, 0, 2, 1], (2, 3))
    assert p.indptr.tolist() == [0, 2, 3] and p.indices.tolist() == [0, 2, 1]
    assert p.indptr.dtype == p.indices.dtype == np.int64


@given(masks())
def test_scipy_round_trip(mask):
    sparse = pytest.importorskip("scipy.sparse")
    p = Pattern.from_dense(mask)
    s = p.to_scipy()
    assert isinstance(s, sparse.csr_array) and s.dtype == bool
    assert np.array_equal(s.toarray(), mask)
    # any format; stored zeros count as structural entries
    coo = sparse.coo_array(np.where(mask, 2.0, 0.0))
    assert np.array_equal(Pattern.from_scipy(coo).to_dense(), mask)
    assert np.array_equal(Pattern.from_scipy(sparse.csc_matrix(mask)).to_dense(), mask)


def test_stored_zeros_are_structural():
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csr_array((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 2])),
                         shape=(1, 2))
    assert Pattern.from_scipy(m).to_dense().tolist() == [[True, True]]
    assert column_coloring(m).tolist() in ([0, 1], [1, 0])


def test_from_scipy_refuses_a_dense_array():
    pytest.importorskip("scipy")
    with pytest.raises(TypeError, match="use Pattern.from_dense"):
        Pattern.from_scipy(np.eye(2))


def test_empty_patterns():
    for shape in [(0, 0), (0, 3), (3, 0), (2, 2)]:
        p = Pattern.from_dense(np.zeros(shape, dtype=bool))
        colors = column_coloring(p)
        assert colors.shape == (shape[1],) and (colors == 0).all()
        assert decompress_columns(np.zeros((shape[0], colors.max(initial=-1) + 1)), p,
                                  colors).shape == (0,)
    assert star_coloring(np.zeros((0, 0))).shape == (0,)


def test_coloring_runs_without_scipy():
    # numba itself imports scipy where installed: hide it instead of checking sys.modules
    code = ("import sys; sys.modules['scipy'] = None; import numpy as np; "
            "import dualad.sparse.coloring as c; p = c.Pattern.from_dense(np.eye(3)); "
            "k = c.star_coloring(p); c.decompress_star(np.eye(3) @ c.seed_matrix(k), p, k)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


# --- the standard problems ---------------------------------------------------------------------

def banded(n, b):
    i = np.arange(n)
    return np.abs(i[:, None] - i[None, :]) <= b


def arrowhead(n):
    a = np.eye(n, dtype=bool)
    a[0] = a[:, 0] = True
    return a


def brusselator_2d(N):
    """Jacobian pattern of the 2-D Brusselator on an N x N periodic grid: u then v, each with
    the 5-point Laplacian and coupled to the other species at the same point."""
    idx = np.arange(N * N).reshape(N, N)
    mask = np.zeros((2 * N * N, 2 * N * N), dtype=bool)
    for s in range(2):
        for di, dj in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]:
            nb = np.roll(np.roll(idx, di, 0), dj, 1)
            mask[s * N * N + idx.ravel(), s * N * N + nb.ravel()] = True
        mask[s * N * N + idx.ravel(), (1 - s) * N * N + idx.ravel()] = True
    return mask


@pytest.mark.parametrize("order", ORDERS)
def test_tridiagonal_needs_three_colors(order):
    p = Pattern.from_dense(banded(1000, 1))
    assert column_coloring(p, order).max() + 1 == 3
    assert row_coloring(p, order).max() + 1 == 3
    assert star_coloring(p, order).max() + 1 == 3


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("b", [1, 2, 3, 5, 8])
def test_band_of_half_width_b_needs_2b_plus_1_colors(order, b):
    mask = banded(300, b)
    colors = column_coloring(mask, order)
    assert colors.max() + 1 == 2 * b + 1
    assert column_valid(mask, colors)


@pytest.mark.parametrize("order", ORDERS)
def test_arrowhead_star_coloring_needs_two_colors_column_coloring_n(order):
    n = 200
    mask = arrowhead(n)
    stars = star_coloring(mask, order)
    assert stars.max() + 1 == 2
    assert star_valid(mask[:20, :20], stars[:20])  # the leading principal block
    assert column_coloring(mask, order).max() + 1 == n
    H = random_matrix(mask, 0, symmetric=True)
    assert np.array_equal(decompress_star(H @ seed_matrix(stars), mask, stars), entries(mask, H))


@pytest.mark.parametrize("N", list(range(6, 41)))
def test_brusselator_2d_needs_at_most_12_column_colors(N):
    mask = brusselator_2d(N)
    colors = column_coloring(mask)  # smallest-last, the default
    assert colors.max() + 1 <= 12
    assert column_valid(mask, colors)
    J = random_matrix(mask, N)
    assert np.array_equal(decompress_columns(J @ seed_matrix(colors), mask, colors),
                          entries(mask, J))


def test_coloring_report_runs():
    from _scripts import run_script
    out = run_script("benchmarks/coloring_report.py", "--quick")
    arrow = [c.strip() for c in out.split("| arrowhead")[1].splitlines()[0].split("|")]
    assert arrow[3:7] == ["300 / 2"] * 4  # column colours n, star colours 2, every order
    assert "(b) time per colouring" in out
