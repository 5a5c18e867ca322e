"""The built book in a real browser: Debian's Chromium, driven headless by Playwright.

Serves _build/html (from ``make book``) on localhost and checks every page as a reader
without a kernel or a network would get it: it loads with no console error and no
failed request, nothing is requested from outside localhost, math is typeset (by the
book's own MathJax), headings go down one level at a time, every image in the content
has alt text, every static explorer
changes its frame when its slider moves,
and axe-core (from npm, injected from node_modules) finds no serious or critical
accessibility violation in the page's content (the article; the theme's navigation is
not ours). A screenshot of every page goes to _build/screenshots.
Internal links are checked on the HTML files: every target page and anchor exists.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "_build" / "screenshots"
SKIP = {"genindex.html", "search.html", "py-modindex.html"}  # Sphinx's generated tools


def _pages() -> list[str]:
    """Every page of the built book ([] when it is not built: test_book_is_built fails)."""
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if p.name not in SKIP and "_static" not in p.parts and "_sources" not in p.parts
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request in the test output
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_book_is_built():
    assert (HTML / "index.html").exists(), "no built book in _build/html: `make book`"
    assert len(_pages()) >= 10, f"only {len(_pages())} pages in _build/html"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        raise RuntimeError("Debian's chromium is missing: `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def _local(url: str, base: str) -> bool:
    return url.startswith((base, "data:", "blob:", "about:"))


@pytest.mark.parametrize("page_path", _pages())
def test_page_in_the_browser(server, browser, page_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside, failed = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if _local(r.url, server) else outside.append(r.url))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: failed.append(f"{r.url} ({r.status})") if r.status >= 400 else None,
    )
    page.goto(f"{server}/{page_path}", wait_until="networkidle")

    math = page.locator("span.math, div.math").count()
    if math:
        page.wait_for_function(
            "document.querySelectorAll('mjx-container').length >= "
            "document.querySelectorAll('span.math, div.math').length",
            timeout=15000,
        )

    players = page.locator("div.animation")
    for i in range(players.count()):
        player = players.nth(i)
        frame = player.locator("img").first
        before = frame.get_attribute("src")
        player.locator("input[type=range]").first.evaluate(
            "(el) => { el.value = Math.min(2, el.max);"
            " el.dispatchEvent(new Event('input')); }"
        )
        page.wait_for_timeout(50)
        assert frame.get_attribute("src") != before, f"explorer {i} did not change frame"
        assert frame.get_attribute("alt"), f"explorer {i} has no alt text"

    levels = page.eval_on_selector_all(
        "article h1, article h2, article h3, article h4, article h5, article h6",
        "els => els.map(e => Number(e.tagName[1]))",
    )
    skips = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert levels[:1] == [1] and not skips, f"headings out of order: {levels}"

    no_alt = page.eval_on_selector_all(
        "article img", "els => els.filter(e => !e.alt.trim()).map(e => e.src.slice(0, 60))"
    )
    assert not no_alt, f"images without alt text: {no_alt}"

    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => {
            // our content: the article, not the theme's navigation chrome
            const r = await axe.run('article.bd-article', {resultTypes: ['violations']});
            return r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3)
                    .map(n => n.target.join(' ')).join(', '));
        }"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / (page_path.replace("/", "_") + ".png")), full_page=True
    )
    page.close()
    assert not errors, f"console errors: {errors}"
    assert not failed, f"failed requests: {failed}"
    assert not outside, f"requests leaving localhost: {outside}"
    assert not violations, f"accessibility (axe, serious or critical): {violations}"


def _ids(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        cache[path] = {t["id"] for t in soup.find_all(id=True)} | {
            t["name"] for t in soup.find_all("a", attrs={"name": True})
        }
    return cache[path]


def test_no_broken_internal_link():
    broken, cache = [], {}
    for rel in _pages():
        source = HTML / rel
        soup = BeautifulSoup(source.read_text(encoding="utf-8"), "html.parser")
        for a in soup.find_all("a", href=True):
            href = a["href"]
            if urlparse(href).scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target, anchor = urldefrag(href)
            path = (source.parent / unquote(target)).resolve() if target else source
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{rel}: {href} (no such file)")
            elif anchor and path.suffix == ".html" and anchor not in _ids(path, cache):
                broken.append(f"{rel}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_no_page_links_outside_the_book_for_its_scripts():
    """Scripts and styles are the book's own files (no CDN)."""
    outside = []
    for rel in _pages():
        text = (HTML / rel).read_text(encoding="utf-8")
        for url in re.findall(
            r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text
        ):
            outside.append(f"{rel}: {url}")
    assert not outside, "\n".join(outside)
