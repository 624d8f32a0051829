"""Derivatives on many processes or machines: the chunks of a Jacobian or Hessian as tasks
of any ``concurrent.futures.Executor`` (a Dask client's ``get_executor()``, a
``ProcessPoolExecutor``, a ``ThreadPoolExecutor``), passed as ``executor=`` to
``dualad.jacobian``, ``hessian``, ``value_grad_hessian`` and the sparse helpers.

``tasks.py`` sends one call's problem once and its chunks as tasks, and hands the results
back (errors naming the chunk, nothing left running); ``pickling.py`` pickles the problem
with cloudpickle and names what cannot be pickled; ``warm.py`` loads dualad and the kernels
``f`` needs on every worker. Dask is imported by none of them: only the executor passed in
uses it.
"""
from .tasks import run
from .warm import warm, warm_up

__all__ = ["run", "warm", "warm_up"]
