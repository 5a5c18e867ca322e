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

Reading quality (COURSE.md §6), measured on every page at 1280 px and at 390 px (a
phone): no page scrolls sideways; at 1280 px no code, output, table or explorer scrolls
sideways inside its box; text in every figure and explorer frame is at least
:data:`MIN_TEXT_PX` on screen at 1280 px, computed from what ``helpers.viz`` sets (no
text under ``MIN_FONT_PT`` points, ``PIXEL_RATIO`` saved pixels per CSS pixel, ``DPI``)
and the scale the browser draws the image at; every figure carries at least 1.5 times
the pixels it is shown with; the footer's links stay on screen; a notebook page weighs
under :data:`PAGE_BYTES` (HTML and images), with no saved widget state, and MathJax
loads only where there is math.
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

from helpers.viz import DPI, MIN_FONT_PT, PIXEL_RATIO
from lab import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "_build" / "screenshots"
SKIP = {"genindex.html", "search.html", "py-modindex.html"}  # Sphinx's generated tools
WIDTHS = (1280, 390)  # a laptop and a phone
MIN_TEXT_PX = 10.0  # the smallest text a reader should have to read, in CSS pixels
SHARPNESS = 1.5  # saved pixels per displayed pixel, at least (high-density screens)
PAGE_BYTES = 2_000_000  # a notebook page: its HTML plus its images


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
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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

    players = page.locator("div.explorer-static")
    assert not page.locator("div.animation").count(), "an old matplotlib jshtml player"
    for i in range(players.count()):
        player = players.nth(i)
        frame = player.locator("img").first
        before = frame.get_attribute("src")
        assert player.locator(".explorer-controls").is_visible(), (
            f"explorer {i}: no controls"
        )
        assert not player.locator(".explorer-note").count(), f"explorer {i}: note left"
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
    violations = []
    for mode in ("light", "dark"):  # the theme's two colour schemes (its toggle)
        page.evaluate(
            "mode => { const d = document.documentElement.dataset;"
            " d.mode = mode; d.theme = mode; }",
            mode,
        )
        page.wait_for_timeout(50)
        found = page.evaluate(
            """async () => {
                // our content: the article, not the theme's navigation chrome
                const r = await axe.run(
                    'article.bd-article', {resultTypes: ['violations']});
                return r.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3)
                        .map(n => n.target.join(' ')).join(', '));
            }"""
        )
        violations += [f"{mode} mode: {v}" for v in found]
    page.evaluate(
        "() => { const d = document.documentElement.dataset;"
        " d.mode = 'light'; d.theme = 'light'; }"
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


# ---------------------------------------------------------------------------------
# Reading quality: overflow, legible figures, phones, page weight (COURSE.md §6)

_MEASURE = """() => {
  const W = window.innerWidth;
  const name = (e) => e.tagName.toLowerCase()
      + (e.className && e.className.baseVal === undefined
        ? '.' + String(e.className).trim().split(/\\s+/).slice(0, 2).join('.') : '')
      + ' "' + (e.innerText || e.alt || '').trim().slice(0, 40).replace(/\\s+/g, ' ') + '"';
  const visible = (e) => {
      const r = e.getBoundingClientRect(), s = getComputedStyle(e);
      return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
          && s.display !== 'none'; };
  const boxes = [...document.querySelectorAll(
      'article pre, article div.highlight, article div.cell_output, article table, ' +
      'article div.explorer-static, article .output')];
  return {
    page: document.documentElement.scrollWidth - W,
    scrolling: boxes.filter((e) => e.scrollWidth > e.clientWidth + 1)
        .map((e) => name(e) + ' ' + e.scrollWidth + ' > ' + e.clientWidth),
    beyond: [...document.querySelectorAll('article *, footer .prev-next-area a')]
        .filter((e) => visible(e) && e.getBoundingClientRect().right > W + 1
            && !e.closest('pre, div.highlight, table, .output, .cell_output'))
        .slice(0, 5)
        .map((e) => name(e) + ' right=' + Math.round(e.getBoundingClientRect().right)),
    footer: [...document.querySelectorAll('footer .prev-next-area a, .prev-next-area a')]
        .filter(visible).filter((e) => { const r = e.getBoundingClientRect();
            return r.left < -1 || r.right > W + 1; }).map(name),
    images: [...document.querySelectorAll(
        'article div.cell_output img, article div.explorer-static img')]
        .filter(visible).map((i) => ({what: name(i), natural: i.naturalWidth,
            shown: i.getBoundingClientRect().width})),
  };
}"""


def _reading(page) -> dict:
    page.evaluate("document.fonts.ready")
    return page.evaluate(_MEASURE)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page_path", _pages())
def test_page_reads_well(server, browser, page_path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{server}/{page_path}", wait_until="networkidle")
    got = _reading(page)
    if width != 1280:
        page.screenshot(
            path=str(SHOTS / (page_path.replace("/", "_") + f"_{width}.png")),
            full_page=True,
        )
    page.close()
    problems = []
    if got["page"] > 0:
        problems.append(f"the page scrolls sideways by {got['page']} px: {got['beyond']}")
    if got["footer"]:
        problems.append(f"footer links off screen: {got['footer']}")
    if width == 1280 and got["scrolling"]:
        problems.append(
            f"{len(got['scrolling'])} blocks scroll sideways: {got['scrolling']}"
        )
    for img in got["images"]:
        if not img["natural"]:
            problems.append(f"{img['what']}: no picture")
            continue
        scale = img["shown"] / img["natural"]  # displayed CSS px per saved pixel
        text_px = MIN_FONT_PT * DPI / 72 * PIXEL_RATIO * scale
        if width == 1280 and text_px < MIN_TEXT_PX:
            problems.append(
                f"{img['what']}: its smallest text is {text_px:.1f} px on screen "
                f"(shown at {img['shown']:.0f} px of {img['natural']} px)"
            )
        if img["natural"] < SHARPNESS * img["shown"] - 1:
            problems.append(
                f"{img['what']}: {img['natural']} px shown {img['shown']:.0f} px wide "
                f"(not sharp on a high-density screen)"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page_path", [p for p in _pages() if p.startswith("notebooks/")])
def test_notebook_page_weight(page_path):
    source = HTML / page_path
    text = source.read_text(encoding="utf-8")
    soup = BeautifulSoup(text, "html.parser")
    images = {
        (source.parent / unquote(img["src"])).resolve()
        for img in soup.find_all("img", src=True)
        if not img["src"].startswith("data:")
    }
    total = len(text.encode()) + sum(p.stat().st_size for p in images if p.exists())
    assert total < PAGE_BYTES, f"{page_path}: {total / 1e6:.2f} MB of HTML and images"
    assert "application/vnd.jupyter.widget-state+json" not in text, "unused widget state"


def test_mathjax_only_where_there_is_math():
    for rel in _pages():
        text = (HTML / rel).read_text(encoding="utf-8")
        loads = "mathjax/tex-mml-chtml.js" in text
        has_math = 'class="math' in text
        assert loads == has_math, f"{rel}: MathJax {'loaded' if loads else 'missing'}"
