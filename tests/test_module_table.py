"""book/_ext/module_table.py: the API page's table of every module, from its docstring."""

import doctest
import importlib.util
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "book" / "_ext"
PACKAGE = ROOT / "src" / "helpers"

_spec = importlib.util.spec_from_file_location("module_table", EXT / "module_table.py")
module_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(module_table)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_doctests():
    assert doctest.testmod(module_table).failed == 0


def test_every_public_module_of_helpers_is_listed_once_with_a_summary():
    expected = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts):
            continue
        expected.append(".".join(("helpers", *parts)))
    rows = module_table.module_rows(PACKAGE)
    names = [name for name, _ in rows]
    assert sorted(names) == sorted(expected)
    assert len(set(names)) == len(names)
    assert "helpers" in names and "helpers.scenes" in names
    for name, summary in rows:
        assert summary.strip(), f"{name} has an empty summary"
        assert "\n" not in summary


def test_the_course_order_puts_chapters_first_then_the_rest_by_name():
    rows = [
        ("helpers.viz", "Figures every chapter shares."),
        ("helpers.b", "Chapter 4's explorers."),
        ("helpers.a", "Chapter 4's comparison."),
        ("helpers", "The package."),
        ("helpers.models", "The models: chapter 2's MLP, and chapter 4's CNN."),
    ]
    assert [name for name, _ in module_table.in_course_order(rows)] == [
        "helpers.models",
        "helpers.a",
        "helpers.b",
        "helpers",
        "helpers.viz",
    ]
    real = module_table.in_course_order(module_table.module_rows(PACKAGE))
    chapters = [module_table.chapter(text) for _, text in real]
    named = [number for number in chapters if number is not None]
    assert named == sorted(named)
    assert chapters[: len(named)] == named  # every module naming a chapter comes first


def test_a_fake_package_nested_subpackages_private_modules_left_out(tmp_path):
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": '"""The package.\n\nMore about it."""\n',
            "alpha.py": '"""Alpha: a summary\nwrapped over two lines.\n\nMore."""\n',
            "_private.py": "x = 1\n",  # private: neither listed nor required a docstring
            "sub/__init__.py": '"""A subpackage."""\n',
            "sub/beta.py": '"""Chapter 2\'s beta."""\n',
            "sub/deeper/__init__.py": '"""Deeper still."""\n',
            "sub/deeper/gamma.py": '"""Gamma, three levels down."""\n',
            "_hidden/__init__.py": '"""A private subpackage."""\n',
            "_hidden/delta.py": "x = 1\n",
            "data/scenes.json": "{}\n",  # a folder without modules: data
            "sub/notes.txt": "not a module\n",
        },
    )
    assert module_table.module_rows(tmp_path / "pkg") == [
        ("pkg", "The package."),
        ("pkg.alpha", "Alpha: a summary wrapped over two lines."),
        ("pkg.sub", "A subpackage."),
        ("pkg.sub.beta", "Chapter 2's beta."),
        ("pkg.sub.deeper", "Deeper still."),
        ("pkg.sub.deeper.gamma", "Gamma, three levels down."),
    ]


@pytest.mark.parametrize("source", ["x = 1\n", '""""""\nx = 1\n', "# a comment only\n"])
def test_a_module_without_docstring_is_an_error_naming_its_file(tmp_path, source):
    files = {
        "__init__.py": '"""P."""\n',
        "sub/__init__.py": '"""S."""\n',
        "sub/bare.py": source,
    }
    _write(tmp_path / "pkg", files)
    with pytest.raises(ValueError, match=r"sub/bare\.py has no docstring"):
        module_table.module_rows(tmp_path / "pkg")


def test_a_folder_that_is_no_package_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no __init__.py"):
        module_table.module_rows(tmp_path)
    # a folder of modules inside the package, without __init__.py: a namespace package,
    # which autoapi and pkgutil skip, so its modules would be missing from the table
    _write(tmp_path / "pkg", {"__init__.py": '"""P."""\n', "loose/deep/m.py": '"""M."""\n'})
    with pytest.raises(ValueError, match=r"pkg/loose holds modules but no __init__.py"):
        module_table.module_rows(tmp_path / "pkg")


def _build(tmp_path: Path, page: str, monkeypatch) -> tuple[str, str]:
    """Build a one-page MyST Sphinx project with the extension; (page's HTML, warnings)."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    source = tmp_path / "book"
    source.mkdir(exist_ok=True)
    conf = 'extensions = ["myst_parser", "module_table"]\nexclude_patterns = ["src"]\n'
    (source / "conf.py").write_text(conf)
    (source / "index.md").write_text(page)
    monkeypatch.setitem(sys.modules, "module_table", module_table)  # what Sphinx loads
    warnings = io.StringIO()
    # as sphinx-build does: the roles and directives registered go when the build ends
    with patch_docutils(str(source)), docutils_namespace():
        app = Sphinx(
            str(source),
            str(source),
            str(tmp_path / "html"),
            str(tmp_path / "doctrees"),
            "html",
            status=None,
            warning=warnings,
            freshenv=True,
        )
        app.build()
    return (tmp_path / "html" / "index.html").read_text(), warnings.getvalue()


def test_the_directive_renders_a_linked_table(tmp_path, monkeypatch):
    _write(
        tmp_path / "book" / "src" / "pkg",
        {
            "__init__.py": '"""The package."""\n',
            "alpha.py": '"""Alpha: ``code`` and a link to :func:`f`."""\n\n\ndef f():\n'
            '    """F."""\n',
            "sub/__init__.py": '"""Chapter 1: a subpackage."""\n',
        },
    )
    # the module targets that autoapi's pages declare in the book
    page = "# API\n\n```{module-table} /src/pkg\n```\n\n```{eval-rst}\n"
    for name in ("pkg", "pkg.alpha", "pkg.sub"):
        page += f".. py:module:: {name}\n\n"
    page += ".. py:function:: f()\n   :module: pkg.alpha\n```\n"
    html, warnings = _build(tmp_path, page, monkeypatch)
    assert warnings == ""
    table = html[html.index("<table") : html.index("</table>")]
    assert table.count("<tr") == 4  # the header and three modules
    assert table.index("pkg.sub") < table.index(">pkg<")  # chapter 1 first
    for name in ("pkg", "pkg.alpha", "pkg.sub"):
        assert f'href="#module-{name}"' in table
    assert "<code" in table and "code</span>" in table  # ``code`` as code
    assert 'href="#pkg.alpha.f"' in table  # :func:`f` resolved in pkg.alpha
    assert "module" in table and "what it holds" in table


def test_a_missing_docstring_fails_the_page_naming_the_file(tmp_path, monkeypatch):
    _write(tmp_path / "book" / "src" / "pkg", {"__init__.py": '"""P."""\n', "bare.py": ""})
    page = "# API\n\n```{module-table} /src/pkg\n```\n"
    html, warnings = _build(tmp_path, page, monkeypatch)
    assert "module-table" in warnings and "bare.py has no docstring" in warnings
    assert "<table" not in html
