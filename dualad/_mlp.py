"""Numba kernels for ``train.MLP``'s structured forward pass with k tangents (``MLP.forward_grad``).

Per layer the matrix products stay in BLAS (through numpy) and everything elementwise after
them — bias and bias tangent, the propagated and the parameter tangent terms, ReLU on values
and tangents, and at the end softmax cross-entropy with its directional derivatives — is one
numba pass over the layer's memory instead of a chain of numpy temporaries (and, for duals,
one Python dispatch per operation).

Layout: a layer's values and tangents live together in ``A`` of shape (batch, 1 + k, units):
row 0 of each sample is the value, rows 1..k its tangents along the k directions. Then
``A.reshape(batch * (1 + k), in) @ W`` is the next pre-activation and the propagated tangent
term ``dh W`` in ONE GEMM, and ``h @ V`` (V transposed to (in, k, out), free for k = 1) is the
parameter tangent term in a second one; the first layer's input has no tangent, so there
``X @ [W | V]`` is the only GEMM. For k = 0 (the loss alone) the same code runs with no
tangent rows.
"""
import numpy as np

from ._compile import jit


@jit(nogil=True)
def hidden_pass(G, P, bias, dbias, propagated):
    """In place on ``G`` (batch, 1 + k, units), row 0 ``h W``, rows 1.. the GEMM tangent
    terms: add ``bias``, ``dbias`` (k, units) and, when ``propagated``, ``P`` (batch, k,
    units); then ReLU on the value and its tangents."""
    batch, rows, units = G.shape
    on = np.empty(units, dtype=G.dtype)
    for b in range(batch):
        for j in range(units):
            z = G[b, 0, j] + bias[j]
            # the rule table's derivative of np.maximum(z, 0.0) is (z >= 0): ties pass the
            # tangent; nan keeps its value (numpy propagates it) and gets derivative 0
            on[j] = 1.0 if z >= 0.0 else 0.0
            G[b, 0, j] = z if z >= 0.0 or z != z else 0.0
        for r in range(1, rows):
            for j in range(units):
                t = G[b, r, j] + dbias[r - 1, j]
                if propagated:
                    t += P[b, r - 1, j]
                G[b, r, j] = on[j] * t  # a product, as the chain rule's: 0 * inf is nan


@jit(nogil=True)
def first_bad_label(labels, units):
    """The first row whose label is outside [0, units), else -1 (one pass, no temporaries:
    it runs on every loss evaluation)."""
    for b in range(labels.shape[0]):
        if labels[b] < 0 or labels[b] >= units:
            return b
    return -1


@jit(nogil=True, error_model="numpy")
def output_pass(G, P, bias, dbias, propagated, labels):
    """``(mean loss, d)`` of softmax cross-entropy on the logits in ``G`` (as in
    ``hidden_pass``, bias not yet added): ``d[i]`` the directional derivative of the mean
    loss along direction i. The labels must be in range (``first_bad_label``)."""
    batch, rows, units = G.shape
    z = np.empty(units, dtype=G.dtype)
    e = np.empty(units, dtype=G.dtype)
    total = 0.0
    d = np.zeros(rows - 1)
    for b in range(batch):
        m = G[b, 0, 0] + bias[0]
        for j in range(units):
            z[j] = G[b, 0, j] + bias[j]
            m = max(m, z[j])
        s = 0.0  # sums accumulate in float64 also for float32 data
        for j in range(units):
            e[j] = np.exp(z[j] - m)
            s += e[j]
        label = labels[b]
        total += np.log(s) - (z[label] - m)
        # d(row loss) = softmax . dz - dz[label]; the shift by the max is a constant
        for r in range(1, rows):
            acc = 0.0
            t_label = 0.0
            for j in range(units):
                t = G[b, r, j] + dbias[r - 1, j]
                if propagated:
                    t += P[b, r - 1, j]
                acc += e[j] * t
                if j == label:
                    t_label = t
            d[r - 1] += acc / s - t_label
    return total / batch, d / batch
