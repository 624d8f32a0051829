"""Handwritten digits (scikit-learn's load_digits) with an MLP 64-32-10 trained by forward mode.

    pip install ".[examples]"          # scikit-learn (and tqdm, matplotlib) — optional extras
    python examples/digits_mlp.py      # full run
    python examples/digits_mlp.py --quick

1. exact gradients (structured forward mode, ``MLP.exact_grad``) + Adam: the tutorial's
   target is at least 97 % test accuracy on a held-out 25 % split;
2. the same model with forward gradients (Baydin et al. 2022, K random tangents per step,
   the structured ``MLP.forward_grad``): its accuracy and time per step.
"""
import argparse
import time

import numpy as np

from dualad import optim, train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few epochs (for the tests)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--plot", default=None, help="loss-curve PNG of the exact-gradient run")
    ap.add_argument("--progress", action="store_true", help="progress bar")
    args = ap.parse_args(argv)
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        print("scikit-learn is not installed: pip install \"dualad[examples]\"")
        return 0

    digits = load_digits()
    X = digits.data / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.25, random_state=0,
                                          stratify=digits.target)
    model = train.MLP((64, 32, 10))
    MLP = train.MLP
    epochs = args.epochs or (4 if args.quick else 60)

    # 1. exact gradients
    params = model.init(seed=0)
    hist = train.fit(MLP.loss, params, optim.Adam(lr=0.005), data=(Xtr, ytr), epochs=epochs,
                     batch_size=64, grad_fn=model.exact_grad, progress=args.progress,
                     plot=args.plot)
    acc = model.accuracy(params, Xte, yte)
    print("digits MLP 64-32-10, exact forward-mode gradients + Adam: test accuracy")
    print(f"    dualad:   {acc:.4f} ({epochs} epochs, {np.median(hist.epoch_times):.3f} s "
          f"per epoch, final loss {hist.epoch_losses[-1]:.4f})")
    print("    expected: >= 0.97" + (" (full run; --quick trains 4 epochs)" if args.quick
                                       else ""))

    # 2. forward gradients: K tangents per step, more steps (the estimate is noisy); the
    # structured MLP.forward_grad draws and estimates as train.forward_grad(MLP.loss, ...)
    k = 8
    fg_epochs = 2 if args.quick else 60
    params = model.init(seed=0)
    tangent_rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    hist = train.fit(MLP.loss, params, optim.Adam(lr=0.002), data=(Xtr, ytr),
                     epochs=fg_epochs, batch_size=64, seed=1, progress=args.progress,
                     grad_fn=lambda p, a, b: model.forward_grad(p, a, b, k=k, rng=tangent_rng))
    per_step = (time.perf_counter() - t0) / len(hist.losses)
    acc_fg = model.accuracy(params, Xte, yte)
    print(f"digits MLP, forward gradients (K = {k} tangents per step) + Adam: test accuracy")
    print(f"    dualad:   {acc_fg:.4f} ({fg_epochs} epochs, {per_step * 1e3:.2f} ms per step)")
    print("    expected: below the exact-gradient run (an unbiased but noisy estimate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
