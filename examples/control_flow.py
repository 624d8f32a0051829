"""Plain-Python code with if/while and the builtins sum, max, min, sorted, on duals."""
import dualad as ad


def collatz_like(x):
    # halve while large, then branch on the value: piecewise smooth in x
    while x > 1.0:
        x = x / 2.0
    if x > 0.75:
        return x * x
    return 3.0 * x


def stats(x):
    xs = [x, x * x, 3.0 - x, 0.5 * x + 1.0]
    middle = sorted(xs)[1:3]
    return sum(xs) + max(xs) - min(xs) + sum(middle)


print(f"collatz_like'(5.0): {ad.derivative(collatz_like, 5.0)!r}")
print(f"collatz_like'(7.0): {ad.derivative(collatz_like, 7.0)!r}")
print(f"stats'(1.7): {ad.derivative(stats, 1.7)!r}")
