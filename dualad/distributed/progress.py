"""Progress of the tasks of one call: a tqdm bar when tqdm is installed and progress is
asked for, else a plain line on stderr at every tenth of the tasks (or nothing).

>>> bar = Progress(4, enabled=False, desc="jacobian")
>>> bar.update(); bar.close()
"""
import sys
from typing import Any


class Progress:
    """``update()`` once per finished task, ``close()`` at the end (also after an error)."""

    bar: Any  # a tqdm progress bar, or None

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.bar, self.enabled, self.total, self.done, self.desc = None, enabled, total, 0, desc
        self._said = 0
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc, unit="task", leave=True,
                                file=sys.stderr)
            except ImportError:
                pass

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled and (10 * self.done // max(self.total, 1) > self._said
                               or self.done == self.total):
            self._said = 10 * self.done // max(self.total, 1)
            print(f"{self.desc}: {self.done}/{self.total} tasks", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
