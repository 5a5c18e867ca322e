"""Two fixes to every page's HTML that the book's browser test asks for.

**Scripts**: keep each page's scripts to what the book uses, each once. MathJax
(about 1 MB of JavaScript) loads only on pages with math; the saved ipywidgets state
of a notebook (chapter 4: 225 KB) is dropped, since the book shows every explorer as
its static player and loads no widget JavaScript to use that state. Jupyter Book 1
always loads sphinx-thebe (live code through a Binder kernel), and its setup runs once
per read of the sources, so its inline configuration ``const THEBE_JS_URL = ...`` lands
on every page twice: a JavaScript error ("has already been declared") on every page.
The book has no kernel (launch_buttons.thebe is off), so its scripts go; a script
that is in the page's script list twice is kept once. The list is edited in place,
after the theme has added its own page scripts to it.

**Accessible names** (axe-core; WCAG 2.5.3 and ARIA): myst-nb labels each hidden-code
toggle "Toggle hidden content" while it shows "Show code cell source", so a voice user
saying what they see does not match it; without the label the visible text is its
name. docutils marks the bibliography role="list" without list items; the entries'
own role (doc-biblioentry) says what they are.
"""

from __future__ import annotations

import re

_FIXES = [
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    (re.compile(r'<div role="list" class="citation-list">'), '<div class="citation-list">'),
]


def _is_thebe(script) -> bool:
    body = getattr(script, "attributes", {}).get("body", "") or ""
    return "sphinx-thebe" in (getattr(script, "filename", "") or "") or "THEBE_" in body


def _is_widget_state(script) -> bool:
    kind = getattr(script, "attributes", {}).get("type", "")
    return kind == "application/vnd.jupyter.widget-state+json"


def _is_mathjax(script) -> bool:
    body = getattr(script, "attributes", {}).get("body", "") or ""
    name = getattr(script, "filename", "") or ""
    return "mathjax" in name.lower() or "window.MathJax" in body


def _clean(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if isinstance(body, str):
        for pattern, replacement in _FIXES:
            body = pattern.sub(replacement, body)
        context["body"] = body
    scripts = context.get("script_files")
    if not scripts:
        return
    has_math = isinstance(body, str) and 'class="math' in body
    seen, kept = set(), []
    for script in scripts:
        key = (
            getattr(script, "filename", str(script)),
            tuple(sorted(getattr(script, "attributes", {}).items())),
        )
        if key in seen or _is_thebe(script) or _is_widget_state(script):
            continue
        if _is_mathjax(script) and not has_math:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept  # in place: the theme adds its own page scripts to this list


def setup(app):
    # after the theme's own handlers (default priority 500), which add page scripts
    app.connect("html-page-context", _clean, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
