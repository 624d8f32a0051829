"""Training tutorials reproduced with forward-mode gradients (dualad.train, dualad.optim).

Run it with ``python examples/training_tutorials.py`` (``--quick`` for a shorter house-price
run). Each result is printed above the number the tutorial reports.

1. Linear regression by hand: loss = Σ(Y − (aX + b))², a = b = 0, gradient descent, lr 0.001.
2. The same data, a one-unit dense layer from zero trained with Adam(lr=0.07), float32.
3. The PyTorch lesson: L = (3a + b − 10)² at a = 1, b = 2 has gradient (−30, −10).
4. House prices: a linear model on generated data trained to convergence.
"""
import argparse

import numpy as np

import dualad as ad
from dualad import optim, train


def show(label, got, expected):
    print(label)
    print(f"    dualad:   {got}")
    print(f"    expected: {expected}")


def fmt(values):
    return "[" + ", ".join(f"{float(v):.8g}" for v in values) + "]"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer house-price epochs")
    ap.add_argument("--plot", default=None, help="write the house-price loss curve to a PNG")
    args = ap.parse_args(argv)

    X = np.array([1, 4, 6, 3, 3, 4, 5, 6, 7], dtype=np.float32)
    Y = np.array([0.25, 1.2, 0.79, 0.52, 1.6, 1.7, 1.9, 2, 2], dtype=np.float32)

    # 1. by hand: exact gradient of the sum of squares, plain gradient descent
    def sse(p, x, y):
        return np.sum((y - (p["a"] * x + p["b"])) ** 2)

    params = {"a": np.zeros((), np.float32), "b": np.zeros((), np.float32)}
    sgd = optim.SGD(lr=0.001)
    train.step(sse, params, sgd, X, Y)
    show("linear regression by hand: a, b after one step",
         fmt([params["a"], params["b"]]), "[0.1169, 0.02392]")
    losses = [train.step(sse, params, sgd, X, Y) for _ in range(5)]
    show("linear regression by hand: losses of the next five steps", fmt(losses),
         "[8.134604, 4.186867, 2.8102624, 2.330071, 2.1624107]")
    show("linear regression by hand: a, b at the end", fmt([params["a"], params["b"]]),
         "[0.2729075, 0.05813503]")

    # 2. a one-unit dense layer (kernel 1x1, bias 1) from zero, Adam(lr=0.07), float32
    def dense_sse(p, x, y):
        pred = x[:, None] @ p[0] + p[1]
        return np.sum((y - pred[:, 0]) ** 2)

    layer = [np.zeros((1, 1), np.float32), np.zeros(1, np.float32)]
    adam = optim.Adam(lr=0.07)
    losses = [train.step(dense_sse, layer, adam, X, Y) for _ in range(5)]
    show("dense layer + Adam(0.07): losses of five steps", fmt(losses),
         "[19.457, 10.9911995, 5.402389, 2.5634406, 2.0542033]")

    # 3. the PyTorch lesson: dL/da = 2(3a + b − 10)·3 = −30, dL/db = 2(3a + b − 10) = −10
    grad = ad.gradient(lambda v: (v[0] * 3 + v[1] - 10) ** 2, [1.0, 2.0])
    show("(3a + b - 10)^2 at a = 1, b = 2: gradient", fmt(grad), "[-30, -10]")

    # 4. house prices: price = 50 + 120·size + 15·rooms + noise, features standardized
    rng = np.random.default_rng(7)
    n = 200
    size = rng.uniform(0.5, 3.0, n)           # 100 m²
    rooms = rng.integers(1, 6, n).astype(float)
    price = 50 + 120 * size + 15 * rooms + rng.normal(0, 5, n)
    feats = np.stack([size, rooms], axis=1)
    mean, std = feats.mean(axis=0), feats.std(axis=0)
    Z = (feats - mean) / std

    def mse(p, z, y):
        return np.mean((z @ p["w"] + p["b"] - y) ** 2)

    house = {"w": np.zeros(2), "b": np.zeros(())}
    hist = train.fit(mse, house, optim.SGD(lr=0.1, momentum=0.5), data=(Z, price),
                     epochs=80 if args.quick else 300, progress=False, plot=args.plot)
    w = house["w"] / std                      # back to the original units
    b = house["b"] - np.sum(house["w"] * mean / std)
    A = np.column_stack([np.ones(n), feats])  # least squares, the converged answer
    exact = np.linalg.lstsq(A, price, rcond=None)[0]
    show("house prices: intercept, per 100 m², per room", fmt([b, *w]), fmt(exact))
    show("house prices: final loss (MSE)", f"{hist.epoch_losses[-1]:.6g}",
         f"{np.mean((A @ exact - price) ** 2):.6g} (least squares)")
    if hist.plot:
        print(f"loss curve written to {hist.plot}")


if __name__ == "__main__":
    main()
