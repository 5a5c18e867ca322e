# Installed by the Makefile as .venv/etc/ipython/ipython_kernel_config.py, so it runs at
# the start of every kernel of the course's environment (JupyterLab, nbval, make book).
import os

# Every kernel imports ipywidgets first. JupyterLab's widget manager asks each new
# kernel for its widgets over the comm target "jupyter.widget.control" before any cell
# has imported ipywidgets; without this the kernel logs "No such comm target
# registered: jupyter.widget.control" on every start (harmless: the manager falls
# back, and a fresh kernel has no widgets).
lines = ["import ipywidgets"]

# COURSE_TORCH_THREADS=N runs PyTorch on N threads, as a machine with N cores would
# (make test's nbval: another thread count than the book's). OMP_NUM_THREADS cannot
# do it: PyTorch caps a thread count from the environment at the number of cores.
threads = os.environ.get("COURSE_TORCH_THREADS")
if threads:
    lines.append(f"__import__('torch').set_num_threads({int(threads)})")

c.IPKernelApp.exec_lines = lines  # noqa: F821 (c: the config object)
