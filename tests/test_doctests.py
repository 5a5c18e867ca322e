"""Every docstring example of the package runs, and says what it prints.

The examples are short and pure (no training, seeded randomness, rounded numbers), so
they hold on any machine; each module of ``helpers``, subpackages included, is one test.
"""

import doctest
import importlib
import pkgutil

import pytest

import helpers

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

MODULES = ["helpers"] + sorted(
    info.name for info in pkgutil.walk_packages(helpers.__path__, prefix="helpers.")
)

# The modules whose docstrings carry at least one example today: fewer means examples
# were removed (raise it when a module gains its first one).
AT_LEAST = 18


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_the_examples_are_still_there():
    finder = doctest.DocTestFinder()
    with_examples = [
        name
        for name in MODULES
        if any(test.examples for test in finder.find(importlib.import_module(name)))
    ]
    assert len(with_examples) >= AT_LEAST, with_examples


WIDEST = 76
"""The longest example line, prompt included: the API pages show examples in a code
block 654 px wide at the book's 1280 px layout, about 77 characters of monospace, and
a wider one would scroll sideways (tests/test_book_browser.py)."""


@pytest.mark.parametrize("name", MODULES)
def test_examples_fit_the_books_code_blocks(name):
    finder = doctest.DocTestFinder()
    wide = []
    for test in finder.find(importlib.import_module(name)):
        for example in test.examples:
            lines = [">>> " + line for line in example.source.splitlines()]
            lines += example.want.splitlines()
            wide += [line for line in lines if len(line) > WIDEST]
    assert not wide, f"example lines over {WIDEST} characters: {wide}"
