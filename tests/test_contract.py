"""``_bilinear.contract`` (the products behind einsum on duals and HyperDual's product rule)
against ``np.einsum`` itself, on random two-operand specs: batch, free and summed indices in
any order, sizes of 1 (the 1-d and 2-d matrix-product shortcuts), mixed dtypes."""
import string

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dualad.core.bilinear import contract


@st.composite
def products(draw):
    letters = draw(st.permutations(string.ascii_letters[:6]))
    roles = draw(st.lists(st.sampled_from(["batch", "left", "summed", "right", "a-only"]),
                          min_size=1, max_size=5))
    sa, sb, out = [], [], []
    for c, role in zip(letters, roles):
        if role in ("batch", "left", "summed", "a-only"):
            sa.append(c)
        if role in ("batch", "right", "summed"):
            sb.append(c)
        if role in ("batch", "left", "right"):
            out.append(c)
    sa, sb, out = (draw(st.permutations(s)) for s in (sa, sb, out))
    sizes = {c: draw(st.integers(1, 4)) for c in letters}
    dtypes = draw(st.sampled_from([(np.float64, np.float64), (np.float32, np.float32),
                                   (np.float64, np.float32), (np.int64, np.float64)]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    a = (rng.standard_normal([sizes[c] for c in sa]) * 4).astype(dtypes[0])
    b = (rng.standard_normal([sizes[c] for c in sb]) * 4).astype(dtypes[1])
    return f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b


@settings(max_examples=300, deadline=None)
@given(products())
def test_contract_is_einsum(case):
    spec, a, b = case
    want = np.einsum(spec, a, b)
    got = contract(spec, a, b)
    assert np.shape(got) == want.shape
    assert np.asarray(got).dtype == want.dtype
    tol = 1e-5 if want.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
