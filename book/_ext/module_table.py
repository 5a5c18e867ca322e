"""The API page's table of modules, read from the modules' own docstrings at build time.

A directive, ``module-table``, whose one argument is a package's folder (``/src/helpers``:
a leading slash means relative to the book's root, as for Sphinx's ``include``). It walks
the folder and its subpackages, at any depth, and emits a table with one row per public
module: its dotted name, linked to the module's page (``:py:mod:``, the pages autoapi
generates), and its docstring's summary: the first paragraph, one line by PEP 257. In
MyST markdown::

    ```{module-table} /src/helpers
    ```

The modules are read with :mod:`ast`, never imported: the book's build needs neither
torch nor any other dependency of the package for this table. A module whose name
starts with ``_`` is private and left out, and so is everything in a private
subpackage; a package's ``__init__.py`` stands for the package itself. Every listed
module must have a docstring: one without is a build error that names its file.

Order (:func:`in_course_order`): the modules whose summary names a chapter ("Chapter 4's
explorers: ...") come first, by chapter; the modules every chapter shares follow,
alphabetically.

The pure part, :func:`module_rows` (a folder -> ``(dotted name, summary)`` rows) and
:func:`in_course_order`, is tested without Sphinx (tests/test_module_table.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Parser
from docutils.utils import new_document
from sphinx.util.docutils import SphinxDirective

_CHAPTER = re.compile(r"\b[Cc]hapters? (\d+)")


def summary(docstring: str) -> str:
    """A docstring's summary: its first paragraph (PEP 257's summary line), on one line.

    >>> summary("Scaled dot-product attention, written out.\\n\\nFor queries q ...")
    'Scaled dot-product attention, written out.'
    >>> summary("Is an attention map an explanation? Two\\nmeasurements.\\n\\nMore.")
    'Is an attention map an explanation? Two measurements.'
    """
    paragraph = re.split(r"\n\s*\n", docstring.strip(), maxsplit=1)[0]
    return " ".join(part.strip() for part in paragraph.splitlines())


def _public_sources(package: Path) -> list[Path]:
    """The package's public ``.py`` files and its public subpackages', sorted."""
    found = []
    for path in sorted(package.iterdir()):
        if path.is_dir():
            if path.name.startswith(("_", ".")):
                continue
            if (path / "__init__.py").is_file():
                found.extend(_public_sources(path))
            elif any(path.rglob("*.py")):
                # importable as a namespace package, but neither autoapi nor pkgutil (the
                # doctests) would see its modules: they would be missing without a word
                raise ValueError(
                    f"{path} holds modules but no __init__.py: make it a package (an "
                    "__init__.py whose docstring says what the subpackage holds)"
                )
        elif path.suffix == ".py" and (
            path.name == "__init__.py" or not path.name.startswith("_")
        ):
            found.append(path)
    return found


def module_rows(package: str | Path) -> list[tuple[str, str]]:
    """Every public module of a package folder, with its docstring's summary.

    Args:
        package: the package's folder (the one holding its ``__init__.py``); its name
            is the package's name.

    Returns:
        One ``(dotted name, summary)`` row per public module, sorted by dotted name. A
        package's ``__init__.py`` gives the row of the package itself (``helpers``);
        modules whose name starts with ``_`` and private subpackages are left out, as
        are folders that hold no ``.py`` file (data).

    Raises:
        ValueError: ``package`` has no ``__init__.py``, a public folder in it holds
            modules but no ``__init__.py``, or a public module has no docstring (the
            message names the file or folder).
    """
    root = Path(package)
    if not (root / "__init__.py").is_file():
        raise ValueError(f"{root} is not a package folder: it has no __init__.py")
    rows = []
    for path in _public_sources(root):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        docstring = ast.get_docstring(ast.parse(path.read_bytes(), filename=str(path)))
        if not docstring or not docstring.strip():
            raise ValueError(
                f"{path} has no docstring: every module of the package needs one, whose "
                "first line says what the module holds (the API page lists it)"
            )
        rows.append((".".join(parts), summary(docstring)))
    return sorted(rows)


def chapter(summary: str) -> int | None:
    """The first chapter a summary names ("Chapter 3: ...", "chapter 4's ..."), or None.

    >>> chapter("Chapter 4's explorers: where do the three heads look?")
    4
    >>> chapter("Figures every chapter shares.") is None
    True
    """
    match = _CHAPTER.search(summary)
    return int(match.group(1)) if match else None


def in_course_order(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows in the course's order: by the chapter their summary names, then the rest.

    Rows of the same chapter, and the rows that name none (the modules every chapter
    shares), are sorted by name.
    """

    def key(row: tuple[str, str]) -> tuple[int, str]:
        number = chapter(row[1])
        return (number if number is not None else 10**6, row[0])

    return sorted(rows, key=key)


class ModuleTable(SphinxDirective):
    """``module-table``: a table of a package's modules, linked, with their summaries."""

    required_arguments = 1  # the package's folder
    has_content = False

    def run(self) -> list[nodes.Node]:
        _, folder = self.env.relfn2path(self.arguments[0], self.env.docname)
        try:
            rows = in_course_order(module_rows(folder))
        except (ValueError, SyntaxError) as error:
            raise self.error(f"module-table: {error}") from error
        self.env.module_table_docs = getattr(self.env, "module_table_docs", set())
        self.env.module_table_docs.add(self.env.docname)

        table = nodes.table(classes=["module-table"])
        group = nodes.tgroup(cols=2)
        table += group
        group += nodes.colspec(colwidth=1)
        group += nodes.colspec(colwidth=3)
        head = nodes.thead()
        head += self._row([nodes.Text("module")], [nodes.Text("what it holds")])
        body = nodes.tbody()
        for name, text in rows:
            link = self._parse(f":py:mod:`{name}`", name)
            body += self._row(link, self._parse(text, name))
        group += head
        group += body
        return [table]

    @staticmethod
    def _row(*cells: list[nodes.Node]) -> nodes.row:
        row = nodes.row()
        for content in cells:
            row += nodes.entry("", nodes.paragraph("", "", *content))
        return row

    def _parse(self, text: str, module: str) -> list[nodes.Node]:
        """Inline reStructuredText (the docstrings' markup) as nodes, in ``module``.

        The docstrings are reStructuredText whatever the page's language (MyST here),
        so the text is parsed by docutils' own parser; Sphinx's roles are available
        while a page is read. A role such as :func:`scrubber` resolves as it does on the
        module's own page: the Python domain's current module is ``module`` meanwhile.
        """
        document = self.state.document
        scratch = new_document(document["source"], document.settings)
        scratch.reporter = document.reporter
        context = self.env.ref_context
        saved = context.get("py:module")
        context["py:module"] = module
        try:
            # "\ " (an escaped space, which docutils drops) keeps a summary that starts
            # with a role (":func:`x` ...") from being read as a field list
            Parser().parse("\\ " + text, scratch)
        finally:
            if saved is None:
                context.pop("py:module", None)
            else:
                context["py:module"] = saved
        if len(scratch.children) == 1 and isinstance(scratch[0], nodes.paragraph):
            return list(scratch[0].children)
        return [nodes.Text(text)]


def _always_reread(app, env, added, changed, removed) -> list[str]:
    # the table depends on every file of the package, including files that did not exist
    # when the page was last read: its page is read again at every build (it is small)
    return sorted(getattr(env, "module_table_docs", set()) - set(removed))


def _purge(app, env, docname) -> None:
    getattr(env, "module_table_docs", set()).discard(docname)


def _merge(app, env, docnames, other) -> None:
    env.module_table_docs = getattr(env, "module_table_docs", set()) | getattr(
        other, "module_table_docs", set()
    )


def setup(app):
    app.add_directive("module-table", ModuleTable)
    app.connect("env-get-outdated", _always_reread)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
