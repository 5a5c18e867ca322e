# Installed by the Makefile as .venv/etc/ipython/ipython_kernel_config.py: every kernel
# of the course's environment (JupyterLab, nbval, make book) imports ipywidgets first.
# JupyterLab's widget manager asks each new kernel for its widgets over the comm
# target "jupyter.widget.control" before any cell has imported ipywidgets; without
# this the kernel logs "No such comm target registered: jupyter.widget.control" on
# every start (harmless: the manager falls back, and a fresh kernel has no widgets).
c.IPKernelApp.exec_lines = ["import ipywidgets"]  # noqa: F821 (c: the config object)
