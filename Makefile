# The course's commands. Each creates .venv from requirements.txt when it is missing
# or older than the requirements, with the helpers package installed in editable mode.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONHASHSEED := 0

.PHONY: book test lab notebooks experiments budget bench clean

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Every kernel of .venv imports ipywidgets at its start (see the file's comment), so
# JupyterLab's first question to a new kernel finds the widgets' comm target.
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
$(KERNEL_CONFIG): tools/ipython_kernel_config.py $(STAMP)
	mkdir -p $(dir $@) && cp $< $@

# MathJax served by the book itself (no CDN): npm installs the pinned package, and its
# es5 build is copied to _mathjax/mathjax, which _config.yml adds to the static files.
NODE := node_modules/.package-lock.json
$(NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
MATHJAX := _mathjax/mathjax/tex-mml-chtml.js
$(MATHJAX): $(NODE)
	rm -rf _mathjax && mkdir -p _mathjax && cp -r node_modules/mathjax/es5 _mathjax/mathjax

# Sphinx re-reads only the pages that changed, and jupyter-cache keys a notebook by its
# code cells alone: after a change to the helpers or to a committed result the book
# would show the old outputs. Both caches are dropped when any of them is newer than
# the last build (every notebook then runs again).
BOOK_INPUTS := _build/.book-inputs
$(BOOK_INPUTS): $(shell find src/helpers -name '*.py') $(wildcard experiments/*.json)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

## book: execute every notebook and build the HTML book into _build/html (warnings fail)
book: $(STAMP) $(KERNEL_CONFIG) $(MATHJAX) $(BOOK_INPUTS)
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

# Debian's Chromium for the browser test (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# Every Python process of the tests (pytest, the notebooks' kernels, JupyterLab) has
# connections to non-local addresses refused (tests/offline/sitecustomize.py): a
# download added to a notebook or helper fails a test instead of a reader offline.
OFFLINE := COURSE_OFFLINE=1 PYTHONPATH=$(abspath tests/offline)

# nbval runs the notebooks as another machine would: torch on another number of CPU
# threads than the book build used (1, or 2 on a one-core machine: a thread count
# changes the last digits of every training) and an empty model cache, so every
# model is trained again there. A claim that holds only for one machine's numbers
# fails here. The kernels set torch's thread count from COURSE_TORCH_THREADS
# (tools/ipython_kernel_config.py): torch caps OMP_NUM_THREADS at the number of cores.
NBVAL_THREADS := $(shell [ "$$(nproc)" -gt 1 ] && echo 1 || echo 2)
NBVAL_ZOO := $(abspath _build/nbval-zoo)
NBVAL := OMP_NUM_THREADS=$(NBVAL_THREADS) COURSE_TORCH_THREADS=$(NBVAL_THREADS) \
	OMP_WAIT_POLICY=PASSIVE COURSE_ZOO=$(NBVAL_ZOO)
# Each claim nbval evaluates also records how far it was from failing
# (helpers.margins); the tightest are printed after nbval's report.
CLAIMS := $(abspath _build/claims-nbval.jsonl)

## test: build the book, then the helper tests and the browser test of the built book,
## every notebook against its saved outputs (nbval: another thread count, an empty
## model cache), and lint. nbval runs beside the other tests, not after them: at one
## thread it leaves the second core to them (its report follows theirs).
test: $(STAMP) $(KERNEL_CONFIG) $(NODE) $(CHROMIUM) book
	rm -rf $(NBVAL_ZOO) $(CLAIMS) && mkdir -p _build
	( $(OFFLINE) $(NBVAL) COURSE_CLAIM_LOG=$(CLAIMS) $(PY) -m pytest -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks > _build/nbval.log 2>&1 ) & \
	nbval=$$!; trap 'kill $$nbval 2>/dev/null' INT TERM; \
	$(OFFLINE) $(PY) -m pytest --durations=12 tests; tests=$$?; \
	wait $$nbval; notebooks=$$?; \
	echo "--- nbval at $(NBVAL_THREADS) thread(s), an empty model cache (_build/nbval.log) ---"; \
	cat _build/nbval.log; \
	echo "--- the claims closest to failing in that run (tools/claim_margins.py) ---"; \
	if [ -s $(CLAIMS) ]; then $(PY) tools/claim_margins.py --top 10 $(CLAIMS); \
	else echo "no claim was recorded: nbval stopped before its first claim"; fi; \
	[ $$tests = 0 ] && [ $$notebooks = 0 ]
	$(VENV)/bin/ruff check src tests benchmarks experiments tools
	$(VENV)/bin/ruff format --check src tests benchmarks experiments tools
	$(VENV)/bin/ruff check --line-length 79 notebooks
	$(VENV)/bin/ruff format --check --line-length 79 notebooks

## lab: trust the course's notebooks (so each explorer's saved player runs before its
## cell does; `make notebooks` saves them without widget views), then open JupyterLab
## on them, in the same environment
lab: $(STAMP) $(KERNEL_CONFIG)
	$(VENV)/bin/jupyter trust notebooks/*.ipynb
	$(VENV)/bin/jupyter lab notebooks

## notebooks: re-execute every notebook in place and save it clean (tools/execute_notebooks.py)
notebooks: $(STAMP) $(KERNEL_CONFIG)
	$(PY) tools/execute_notebooks.py

## experiments: the three-seed results of chapters 2 to 6 into experiments/chapter2.json
## (~27 min), chapter3.json (~10 min), chapter4.json (~16 min), comparators.json (~6 min),
## clutter_sweep.json (~25 min), chapter5.json (~20 min), position_roll.json (~2 min),
## chapter6.json (~3 min), gating.json (~4 min), optimizers.json (~6 min) and
## explanation.json (~5 min)
experiments: $(STAMP)
	$(PY) experiments/chapter2.py
	$(PY) experiments/chapter3.py
	$(PY) experiments/chapter4.py
	$(PY) experiments/comparators.py
	$(PY) experiments/clutter_sweep.py
	$(PY) experiments/chapter5.py
	$(PY) experiments/position_roll.py
	$(PY) experiments/chapter6.py
	$(PY) experiments/gating.py
	$(PY) experiments/optimizers.py
	$(PY) experiments/explanation.py

## budget: chapter 4's model against its training budget (>= 95% in 60 s), 3 seeds (~3 min)
budget: $(STAMP)
	$(PY) experiments/budget.py

## bench: measure every budget of COURSE.md §7 (about 25 min): benchmarks/results.json, the
## table in benchmarks/README.md; exits 1 when a budget fails
bench: $(STAMP) $(KERNEL_CONFIG) $(MATHJAX)
	$(PY) benchmarks/bench.py

clean:
	rm -rf _build .jupyter_cache _mathjax .zoo
