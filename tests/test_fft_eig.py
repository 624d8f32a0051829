"""numpy.fft on duals (complex duals), np.linalg.eig / eigvals, np.polyfit.

Oracles: jax (x64) for FFT and polyfit derivatives, Parseval's identity (the Hessian of
sum |fft x|^2 is 2 N I), central differences of plain numpy for eigenvectors (sign fixed
locally) and polyfit in x, the differentiated identities A v = w v, |v| = 1. Values are
compared with numpy's own call on the plain values, bit for bit.
"""
import warnings

import numpy as np
import pytest

import dualad as ad
from _oracles import fd_jacobian


@pytest.fixture(scope="module")
def jnp():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jnp


@pytest.fixture(scope="module")
def jax(jnp):
    import jax
    return jax


def rng(seed=0):
    return np.random.default_rng(seed)


def seeded(x):
    """x as a dual with one direction per element."""
    x = np.asarray(x, dtype=float)
    return ad.DualNumber(x, np.eye(x.size).reshape(x.shape + (x.size,)))


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(np.ascontiguousarray(a).view(np.uint8),
                          np.ascontiguousarray(b).view(np.uint8))


# =========================================================================================
# FFT: every transform and its arguments
# =========================================================================================
X1 = rng(1).standard_normal(7)
X2 = rng(2).standard_normal((4, 6))
X3 = rng(3).standard_normal((3, 4, 5))

# (name, input, kwargs): one-axis transforms take n, axis, norm; the others s, axes, norm
CASES = [
    ("fft", X1, {}), ("fft", X1, {"n": 10}), ("fft", X1, {"n": 4, "norm": "ortho"}),
    ("fft", X2, {"axis": 0}), ("fft", X2, {"norm": "forward"}),
    ("ifft", X1, {}), ("ifft", X2, {"n": 3, "axis": 0, "norm": "ortho"}),
    ("rfft", X1, {}), ("rfft", X1, {"n": 6}), ("rfft", X2, {"axis": 0, "norm": "forward"}),
    ("irfft", X1, {}), ("irfft", X1, {"n": 9}), ("irfft", X2, {"axis": -2, "norm": "ortho"}),
    ("hfft", X1, {}), ("hfft", X1, {"n": 8, "norm": "ortho"}), ("hfft", X2, {"axis": 0}),
    ("ihfft", X1, {}), ("ihfft", X2, {"n": 5, "norm": "forward"}),
    ("fft2", X2, {}), ("fft2", X3, {"axes": (0, 2), "norm": "ortho"}),
    ("ifft2", X2, {"s": (3, 8)}), ("rfft2", X3, {}), ("irfft2", X2, {"s": (4, 6)}),
    ("fftn", X3, {}), ("fftn", X3, {"axes": (1,)}), ("fftn", X3, {"s": (2, 6), "axes": (-2, -1)}),
    ("ifftn", X3, {"axes": (0, -1), "norm": "forward"}), ("rfftn", X3, {}),
    ("rfftn", X3, {"s": (5, 4), "axes": (0, 2)}), ("irfftn", X3, {}),
    ("irfftn", X2, {"s": (3, 7), "axes": (0, 1), "norm": "ortho"}),
]
IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,x,kw", CASES, ids=IDS)
def test_fft_value_is_numpys(name, x, kw):
    func = getattr(np.fft, name)
    expected = func(x, **kw)
    got = func(seeded(x), **kw)
    if np.iscomplexobj(expected):
        assert type(got).__name__ == "ComplexDual"
        same_bits(got.value, expected)
        same_bits(got.real.value, expected.real)
    else:
        assert isinstance(got, ad.DualNumber)
        same_bits(got.value, expected)


@pytest.mark.parametrize("name,x,kw", CASES, ids=IDS)
def test_fft_jacobian_against_jax(name, x, kw, jnp, jax):
    func, jfunc = getattr(np.fft, name), getattr(jnp.fft, name)
    for part in (np.real, np.imag):
        got = ad.jacobian(lambda v: part(func(v, **kw)), x)
        want = jax.jit(jax.jacfwd(lambda v: getattr(jnp, part.__name__)(jfunc(v, **kw))))(x)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# transforms of complex duals: each after another transform, against jax's composition
PIPELINES = [
    ("ifft(fft(x) * h)", lambda m, x: m.fft.ifft(m.fft.fft(x) * H7)),
    ("fft(fft(x))", lambda m, x: m.fft.fft(m.fft.fft(x), n=9, norm="ortho")),
    ("irfft(rfft(x) * H)", lambda m, x: m.fft.irfft(m.fft.rfft(x) * H7[:4], n=7)),
    ("hfft(ihfft(x)**2)", lambda m, x: m.fft.hfft(m.fft.ihfft(x) ** 2, n=7)),
    ("rfft(irfft(rfft(x)))", lambda m, x: m.fft.rfft(m.fft.irfft(m.fft.rfft(x), n=7))),
    ("ifft2(fft2(X))", lambda m, x: m.fft.ifft2(m.fft.fft2(m.reshape(x[:6], (2, 3))) / 2j)),
    ("irfftn(rfftn(X) * c)", lambda m, x: m.fft.irfftn(
        m.fft.rfftn(m.reshape(x[:6], (2, 3))) * (1 - 0.5j), s=(2, 3), axes=(0, 1))),
    ("ifftn(fftn(X), axes)", lambda m, x: m.fft.ifftn(m.fft.fftn(
        m.reshape(x[:6], (3, 2)), axes=(0,)) * (0.3 + 2j), axes=(0,), norm="ortho")),
]
H7 = np.exp(-2j * np.pi * np.arange(7) / 5.0) * np.linspace(1.0, 0.3, 7)
H8 = np.append(H7, 0.1 - 0.2j)


@pytest.mark.parametrize("name,pipe", PIPELINES, ids=[n for n, _ in PIPELINES])
def test_fft_of_complex_duals_against_jax(name, pipe, jnp, jax):
    x = X1
    expected = pipe(np, x)
    got = pipe(np, seeded(x))
    same_bits(got.value, expected)
    for part, jpart in ((np.real, jnp.real), (np.imag, jnp.imag)):
        j = ad.jacobian(lambda v: part(pipe(np, v)), x)
        np.testing.assert_allclose(j, jax.jit(jax.jacfwd(lambda v: jpart(pipe(jnp, v))))(x),
                                   rtol=1e-11, atol=1e-12)


# what spectral code does with the results (real outputs)
def spectrum_power(m, x):
    return m.abs(m.fft.rfft(x)) ** 2


def filtered(m, x):
    return m.real(m.fft.ifft(m.fft.fft(x) * H8))


def phase(m, x):
    return m.angle(m.fft.rfft(x)[1:], deg=True)


def cross_power(m, x):
    f = m.fft.fft(x)
    g = m.fft.fft(m.sin(x))
    return (m.real(f * m.conj(g) + f / (g + 3.0) - (2.0 - f) * 1j) + m.imag(f.conj() * x)
            + m.real(f ** 3) / 50)


def reductions(m, x):
    f = m.fft.fft(m.reshape(x[:6], (2, 3)), axis=1)
    s = m.sum(f, axis=1) + m.mean(f) - m.sum(f ** 2) / 4 + m.exp(f[0, 1] / 3)
    return m.abs(s) + m.abs(m.fft.fftshift(f)[1, 0])


def data_movement(m, x):
    f = m.fft.fft(x)
    g = m.concatenate([f[:3], m.flip(f[3:]), m.sin(x[:2])])
    h = m.stack([g[:4], m.where(np.arange(4) % 2 == 0, g[4:8], 2j)]).T.reshape(-1)
    return m.abs(m.fft.ifftshift(h) * m.moveaxis(m.expand_dims(f[:8], 0), 0, 1)[:, 0])


REAL_OUTPUTS = [spectrum_power, filtered, phase, cross_power, reductions, data_movement]


@pytest.mark.parametrize("f", REAL_OUTPUTS, ids=[f.__name__ for f in REAL_OUTPUTS])
def test_real_results_against_jax(f, jnp, jax):
    x = np.concatenate([X1, [0.4]])
    same_bits(f(np, seeded(x)).value, f(np, x))
    np.testing.assert_allclose(ad.jacobian(lambda v: f(np, v), x),
                               jax.jit(jax.jacfwd(lambda v: f(jnp, v)))(x), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("f", REAL_OUTPUTS, ids=[f.__name__ for f in REAL_OUTPUTS])
def test_second_and_third_order_against_jax(f, jnp, jax):
    x = np.concatenate([X1, [0.4]])
    u = rng(5).standard_normal(x.size)

    def loss(m):
        return lambda v: m.sum(m.sin(f(m, v)))
    h_want = jax.jit(jax.hessian(loss(jnp)))(x)
    np.testing.assert_allclose(ad.hessian(loss(np), x), h_want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ad.hessian(loss(np), x, method="nested"), h_want,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ad.hvp(loss(np), x, u), h_want @ u, rtol=1e-10, atol=1e-10)

    def along(m):
        return lambda t: loss(m)(x + t * u)
    d3 = jax.jit(jax.grad(jax.grad(jax.grad(along(jnp)))))(0.0)
    np.testing.assert_allclose(ad.derivative(along(np), 0.0, order=3), d3, rtol=1e-9,
                               atol=1e-9)
    d2 = jax.jit(jax.grad(jax.grad(along(jnp))))(0.0)
    np.testing.assert_allclose(ad.derivative(along(np), 0.0, order=2), d2, rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_parseval_hessian(n):
    # sum |fft x|^2 = N sum x^2: the Hessian is 2 N I; with norm="ortho" it is 2 I
    x = rng(n).standard_normal(n)
    for norm, scale in ((None, n), ("ortho", 1.0)):
        def energy(v):
            return np.sum(np.abs(np.fft.fft(v, norm=norm)) ** 2)
        expect = 2.0 * scale * np.eye(n)
        np.testing.assert_allclose(ad.hessian(energy, x), expect, atol=1e-12 * n)
        np.testing.assert_allclose(ad.hessian(energy, x, method="nested"), expect,
                                   atol=1e-12 * n)
        np.testing.assert_allclose(ad.gradient(energy, x), 2.0 * scale * x, atol=1e-12 * n)


def test_abs_of_a_zero_frequency_has_derivative_zero():
    # rfft of a constant signal: only X_0 = sum(x) is nonzero; |X_k| at 0 contributes 0
    # (the convention of |x| at 0), never nan
    x = np.full(6, 0.5)
    g = ad.gradient(lambda v: np.sum(np.abs(np.fft.rfft(v))), x)
    np.testing.assert_array_equal(g, np.ones(6))
    h = ad.hessian(lambda v: np.sum(np.abs(np.fft.rfft(v))), x)
    assert np.all(np.isfinite(h))


def test_mixing_real_duals_and_spectra():
    # x * fft(x) with x on the left of a HyperDual product: hessian redoes it with nested
    # duals; Taylor numbers go through the complex dual's own operators
    x = rng(7).standard_normal(5)

    def f(v):
        return np.sum(np.real(v * np.fft.fft(v)) + np.imag(v / np.fft.fft(v + 3.0)) ** 2)
    h = ad.hessian(f, x)
    np.testing.assert_allclose(h, ad.hessian(f, x, method="nested"), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, fd_jacobian(lambda v: ad.gradient(f, v), x), rtol=1e-6,
                               atol=1e-8 * np.max(np.abs(h)))
    u = rng(8).standard_normal(5)
    d3 = ad.derivative(lambda t: f(x + t * u), 0.0, order=3)
    d2 = [ad.derivative(lambda t: f(x + t * u), s, order=2) for s in (-1e-3, 1e-3)]
    np.testing.assert_allclose(d3, (d2[1] - d2[0]) / 2e-3, rtol=1e-4)


def test_float32_stays_complex64():
    x = X1.astype(np.float32)
    f = np.fft.rfft(ad.DualNumber(x, np.ones((7, 1), np.float32)))
    assert f.dtype == np.complex64 and f.real.partials.dtype == np.float32
    same_bits(f.value, np.fft.rfft(x))
    same_bits((f * 2.0 + 1).value, np.fft.rfft(x) * 2.0 + 1)


def test_complex_dual_setitem_and_copy():
    x = seeded(X1)
    f = np.fft.fft(x)
    g = f.copy()
    g[2] = 5.0
    g[3:5] = f[0:2] * 1j
    want = np.fft.fft(X1)
    want[2] = 5.0
    want[3:5] = want[0:2] * 1j
    same_bits(g.value, want)
    assert np.all(g.partials[2] == 0)
    np.testing.assert_array_equal(g.partials[3:5], f.partials[0:2] * 1j)
    same_bits(f.value, np.fft.fft(X1))  # the copy is its own


REFUSED = [
    ("sin", lambda f: np.sin(f)),
    ("sort", lambda f: np.sort(f)),
    ("greater", lambda f: f > f),
    ("cumsum", lambda f: np.cumsum(f)),
    ("matmul", lambda f: f @ f),
    ("out", lambda f: np.fft.ifft(f, out=np.empty(7, complex))),
    ("sum", lambda f: np.sum(f, dtype=np.complex64)),
    ("reduce", lambda f: np.add.reduce(f)),
    ("power", lambda f: f ** ad.DualNumber(2.0)),
]


@pytest.mark.parametrize("name,call", REFUSED, ids=[n for n, _ in REFUSED])
def test_unsupported_operations_on_complex_duals_say_what_to_do(name, call):
    f = np.fft.fft(seeded(X1))
    with pytest.raises(TypeError, match=r"^dualad: .*(np\.real|constant|assign)"):
        call(f)


@pytest.mark.parametrize("convert", [np.asarray, float, complex, bool, lambda f: f.item()])
def test_complex_duals_never_convert_silently(convert):
    f = np.fft.fft(seeded(X1))
    with pytest.raises(TypeError, match="^dualad: .*derivative"):
        convert(f if convert is np.asarray else f[0])


# =========================================================================================
# eig, eigvals
# =========================================================================================
def real_spectrum(seed, m, batch=()):
    """A non-symmetric matrix with real, well-separated eigenvalues (similar to a
    diagonal one)."""
    r = rng(seed)
    s = r.standard_normal(batch + (m, m)) + 3 * np.eye(m)
    d = np.arange(m) * 1.5 - 1.0 + r.uniform(0, 0.3, batch + (m,))
    return s @ (d[..., :, None] * np.linalg.inv(s))


def signed_eig(a, ref):
    """numpy's eigenvectors with signs fixed to agree with ``ref`` (for differences)."""
    v = np.linalg.eig(a).eigenvectors
    return v * np.sign(np.sum(v * ref, axis=-2, keepdims=True))


@pytest.mark.parametrize("m,batch", [(1, ()), (2, ()), (3, ()), (5, ()), (3, (2,))])
def test_eig_values_and_vectors(m, batch):
    a = real_spectrum(m, m, batch)
    e = rng(m + 10).standard_normal(a.shape)
    w0, v0 = np.linalg.eig(a)
    assert not np.iscomplexobj(w0)
    w, dw = ad.jvp(lambda x: np.linalg.eig(x).eigenvalues, a, e)
    v, dv = ad.jvp(lambda x: np.linalg.eig(x).eigenvectors, a, e)
    same_bits(w, w0)
    same_bits(v, v0)
    np.testing.assert_allclose(dv, fd_jacobian(lambda x: signed_eig(x, v0), a).reshape(
        v0.shape + (-1,)) @ e.reshape(-1), rtol=1e-7, atol=1e-8)
    # the differentiated identities: dA v + A dv = dw v + w dv, and v . dv = 0
    np.testing.assert_allclose(e @ v + a @ dv, dw[..., None, :] * v + w[..., None, :] * dv,
                               atol=1e-10)
    np.testing.assert_allclose(np.sum(v * dv, axis=-2), 0.0, atol=1e-12)
    wv, dwv = ad.jvp(np.linalg.eigvals, a, e)
    same_bits(wv, np.linalg.eigvals(a))
    np.testing.assert_allclose(dwv, dw, rtol=1e-12, atol=1e-12)


def test_eigvals_against_jax(jnp, jax):
    a = real_spectrum(3, 4)
    e = rng(4).standard_normal(a.shape)
    w, dw = ad.jvp(np.linalg.eigvals, a, e)
    jw, jdw = jax.jvp(jnp.linalg.eigvals, (a,), (e,))
    order, jorder = np.argsort(w), np.argsort(np.real(jw))
    np.testing.assert_allclose(dw[order], np.real(jdw)[jorder], rtol=1e-10)
    np.testing.assert_allclose(np.imag(jdw), 0.0, atol=1e-12)


def test_eig_second_and_third_order():
    a = real_spectrum(6, 3)
    e = rng(6).standard_normal(a.shape)

    def f(x):
        w, v = np.linalg.eig(np.reshape(x, (3, 3)))
        return np.sum(w ** 2 * v[0] ** 3) + np.linalg.eigvals(np.reshape(x, (3, 3)))[1] ** 3
    h = ad.hessian(f, a.ravel())
    np.testing.assert_allclose(h, ad.hessian(f, a.ravel(), method="nested"), rtol=1e-9,
                               atol=1e-10)

    def g(x):  # the gradient, with the eigenvector signs of the value fixed by numpy's
        return ad.gradient(f, x)
    np.testing.assert_allclose(h, fd_jacobian(g, a.ravel()), rtol=1e-6, atol=1e-7)
    d3 = ad.derivative(lambda t: f(a.ravel() + t * e.ravel()), 0.0, order=3)
    d2 = [ad.derivative(lambda t: f(a.ravel() + t * e.ravel()), s, order=2)
          for s in (-1e-4, 1e-4)]
    np.testing.assert_allclose(d3, (d2[1] - d2[0]) / 2e-4, rtol=1e-5)


def test_eig_refusals_name_the_problem():
    rotation = ad.DualNumber(np.array([[0.0, -1.0], [1.0, 0.0]]))
    jordan = ad.DualNumber(np.array([[2.0, 1.0], [0.0, 2.0]]))
    for func in (np.linalg.eig, np.linalg.eigvals):
        with pytest.raises(ValueError, match="^dualad: .*complex eigenvalues.*eigh"):
            func(rotation)
        with pytest.raises(ValueError, match="^dualad: .*repeated eigenvalues"):
            func(jordan)
    # a batch with one complex spectrum is refused as a whole (numpy makes it all complex)
    batch = np.stack([real_spectrum(1, 2), rotation.value])
    with pytest.raises(ValueError, match="complex eigenvalues"):
        np.linalg.eig(ad.DualNumber(batch))


# =========================================================================================
# polyfit
# =========================================================================================
XS = np.linspace(-1.0, 2.0, 9)
YS = np.sin(2 * XS) + 0.1 * XS ** 3
WS = np.linspace(0.5, 1.5, 9)


@pytest.mark.parametrize("deg", [0, 1, 3, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_polyfit_in_y_against_jax(deg, weighted, jnp, jax):
    w = WS if weighted else None
    c, dc = ad.jvp(lambda y: np.polyfit(XS, y, deg, w=w), YS, YS ** 2)
    same_bits(c, np.polyfit(XS, YS, deg, w=w))
    j = ad.jacobian(lambda y: np.polyfit(XS, y, deg, w=w), YS)
    np.testing.assert_allclose(j, jax.jacfwd(lambda y: jnp.polyfit(XS, y, deg, w=w))(YS),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dc, j @ YS ** 2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("deg", [1, 2, 4])
def test_polyfit_in_x_and_w_against_differences(deg):
    c = np.polyfit(XS, YS, deg, w=WS)
    for arg, f in (("x", lambda x: np.polyfit(x, YS, deg, w=WS)),
                   ("w", lambda w: np.polyfit(XS, YS, deg, w=w))):
        x0 = XS if arg == "x" else WS
        val, _ = ad.jvp(f, x0, np.ones_like(x0))
        same_bits(val, c)  # (the same steps as numpy's: its vander's products, lstsq)
        np.testing.assert_allclose(ad.jacobian(f, x0), fd_jacobian(f, x0), rtol=1e-7,
                                   atol=1e-8)


def test_polyfit_two_columns_full_and_cov():
    y2 = np.stack([YS, np.cos(XS)], axis=1)
    same_bits(ad.jvp(lambda y: np.polyfit(XS, y, 2), y2, y2)[0], np.polyfit(XS, y2, 2))
    # full: (c, residuals, rank, singular values, rcond); cov: (c, covariance)
    for kw, moving in (({"full": True}, (0, 1)), ({"cov": True}, (0, 1)),
                       ({"cov": "unscaled"}, (0,))):
        want = np.polyfit(XS, YS, 2, **kw)
        got = np.polyfit(XS, ad.DualNumber(YS), 2, **kw)
        assert len(got) == len(want)
        for k, (g, expected) in enumerate(zip(got, want)):
            same_bits(g.value if k in moving else g, expected)
        for k in moving:
            def part(y, k=k):
                return np.polyfit(XS, y, 2, **kw)[k]
            np.testing.assert_allclose(ad.jacobian(part, YS), fd_jacobian(part, YS),
                                       rtol=1e-6, atol=1e-8)


def test_polyfit_second_order():
    def f(v):
        return np.sum(np.polyfit(v, np.sin(v), 3) ** 2)
    h = ad.hessian(f, XS)
    np.testing.assert_allclose(h, ad.hessian(f, XS, method="nested"), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h, fd_jacobian(lambda v: ad.gradient(f, v), XS), rtol=1e-6,
                               atol=1e-6)


def test_polyfit_checks_and_warning():
    y = ad.DualNumber(YS)
    with pytest.raises(ValueError, match="^dualad: .*deg >= 0"):
        np.polyfit(XS, y, -1)
    with pytest.raises(TypeError, match="^dualad: .*same length"):
        np.polyfit(XS[:-1], y, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.polyfit(np.ones(9), y, 2)
    assert any(issubclass(c.category, np.exceptions.RankWarning) for c in caught)
