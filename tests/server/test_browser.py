"""The web page in real headless Chromium (Debian's ``chromium``, driven by Playwright): a count,
a document search with paging, switching index, a phone-sized screen. Screenshots go to
tests/screenshots/ (gitignored)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import DOCS, LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data dir
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
        )
        try:
            yield context
        finally:
            context.close()


def open_page(browser: Any, server: LiveServer, width: int = 1200, height: int = 900) -> Any:
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)
    page.js_errors = errors
    return page


def test_count_and_tokens(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    assert page.locator("#index option").all_inner_texts() == ["demo", "other"]
    page.fill("#query", "the cat")
    page.click("#btn-count")
    page.wait_for_selector("#count")
    assert page.inner_text("#count") == "2"
    assert page.locator("#tokens .tok").count() == len("the cat")
    assert "occurrences" in page.inner_text("#result")
    page.screenshot(path=str(SHOTS / "count.png"), full_page=True)
    # Switching index re-runs the query there.
    page.select_option("#index", "other")
    page.wait_for_selector("#count")
    assert page.inner_text("#count") == "2"
    assert not page.js_errors


def test_document_search_with_paging(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "cat")
    page.click("#btn-docs")
    page.wait_for_selector("#doc-list .doc")
    docs = page.locator("#doc-list .doc")
    assert docs.count() == 2
    assert page.locator("#doc-list mark").all_inner_texts() == ["cat", "cat"]
    metas = " ".join(page.locator("#doc-list .meta").all_inner_texts())
    assert "url: cat" in metas and "url: unicode" in metas and "corpus.jsonl" in metas
    page.screenshot(path=str(SHOTS / "documents.png"), full_page=True)

    total = sum(d["text"].count("e") for d in DOCS)
    assert total > 10
    page.fill("#query", "e")
    page.click("#btn-docs")
    page.wait_for_function("document.querySelectorAll('#doc-list .doc').length === 10")
    assert page.inner_text("#page-info") == f"1–10 of {total}"
    assert page.is_disabled("#prev")
    page.click("#next")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('11–')")
    assert page.locator("#doc-list .doc").count() == min(10, total - 10)
    # every occurrence in each shown window is marked
    assert page.locator("#doc-list mark").count() >= page.locator("#doc-list .doc").count()
    assert not page.js_errors


def test_and_or_search_each_clause_in_its_colour(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "(cat OR dog) AND sat on")
    page.click("#btn-docs")
    page.wait_for_selector("#doc-list .doc")
    assert page.locator("#doc-list .doc").count() == 2
    assert page.inner_text("#page-info") == "1–2 of 2"
    first = set(page.locator("#doc-list mark.c0").all_inner_texts())
    second = set(page.locator("#doc-list mark.c1").all_inner_texts())
    assert first == {"cat", "dog"} and second == {"sat on"}
    colour = "el => getComputedStyle(el).backgroundColor"
    c0 = page.locator("#doc-list mark.c0").first.evaluate(colour)
    c1 = page.locator("#doc-list mark.c1").first.evaluate(colour)
    assert c0 != c1
    # the query's terms, grouped by clause in the same colours, and a legend
    assert page.locator("#tokens .term.c0").count() == 2
    assert page.locator("#tokens .term.c1").count() == 1
    assert page.locator("#tokens .op").all_inner_texts() == ["OR", "AND"]
    assert page.locator("#legend .key").all_inner_texts() == ["cat OR dog", "sat on"]
    metas = " ".join(page.locator("#doc-list .meta").all_inner_texts())
    assert "url: cat" in metas and "url: dog" in metas
    page.screenshot(path=str(SHOTS / "and-or.png"), full_page=True)
    # Count of the same query: count_cnf
    page.click("#btn-count")
    page.wait_for_selector("#count")
    assert page.inner_text("#count") == "2"
    assert not page.js_errors


def test_random_order_with_a_seed_pages_without_overlap(browser: Any, server: LiveServer) -> None:
    total = sum(d["text"].count("a") for d in DOCS)
    assert total > 10
    page = open_page(browser, server)
    page.fill("#query", "a")
    page.check("#random")
    page.fill("#seed", "42")
    page.click("#btn-docs")
    page.wait_for_function("document.querySelectorAll('#doc-list .doc').length === 10")
    assert page.inner_text("#page-info") == f"1–10 of {total}"
    assert "seed 42" in page.inner_text("#result")
    first = page.locator("#doc-list .doc").all_inner_texts()
    page.click("#next")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('11–')")
    second = page.locator("#doc-list .doc").all_inner_texts()
    assert len(second) == min(10, total - 10)
    page.screenshot(path=str(SHOTS / "random-order.png"), full_page=True)
    # the same seed gives the same first page
    page.click("#btn-docs")
    page.wait_for_function("document.querySelector('#page-info').textContent.startsWith('1–')")
    assert page.locator("#doc-list .doc").all_inner_texts() == first
    assert first != second
    assert not page.js_errors


def test_parse_error_points_at_the_position(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "cat AND (dog")
    page.click("#btn-docs")
    page.wait_for_selector("#error:not([hidden])")
    assert "position 8" in page.inner_text("#error-msg")
    assert page.inner_text("#error-at") == "cat AND (dog\n        ^"
    page.screenshot(path=str(SHOTS / "parse-error.png"), full_page=True)


def test_creativity(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "the cat sat xyz")
    page.click("#btn-creativity")
    page.wait_for_selector("#creativity-tokens .tok")
    assert page.locator("#creativity-tokens .tok").count() == len("the cat sat xyz")
    lengths = page.locator("#creativity-tokens .tok small").all_inner_texts()
    assert lengths[0] == str(len("the cat sat "))
    page.screenshot(path=str(SHOTS / "creativity.png"), full_page=True)
    assert not page.js_errors


def test_errors_are_shown(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "x" * 1001)  # above the server's query length limit
    page.click("#btn-count")
    page.wait_for_selector("#error:not([hidden])")
    assert "limit" in page.inner_text("#error")


def test_phone_screen(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server, width=390, height=844)
    page.fill("#query", "sat on the")
    page.click("#btn-docs")
    page.wait_for_selector("#doc-list .doc")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert page.locator("#btn-count").bounding_box()["width"] > 60
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)


def test_next_token_and_infinity_gram(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "the ")
    page.click("#btn-ntd")
    page.wait_for_selector("#ntd-bars .bar")
    labels = page.locator("#ntd-bars .bar .label").all_inner_texts()
    assert sorted(labels) == ['"c"', '"d"', '"l"', '"m"']
    assert "prompt count 5" in page.inner_text("#result")
    page.screenshot(path=str(SHOTS / "ntd.png"), full_page=True)

    page.fill("#query", "We hate natural language processing")
    page.click("#btn-infgram")
    page.wait_for_selector("#prob")
    assert page.inner_text("#prob") == "1.0000"
    suffix = "".join(page.locator("#tokens .tok.suffix").all_inner_texts())
    assert suffix == "e␣natural␣language␣processin"  # the longest suffix found, highlighted
    page.screenshot(path=str(SHOTS / "infgram.png"), full_page=True)
    assert not page.js_errors


def test_attribution(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    if page.is_hidden("#btn-attribute"):
        pytest.skip("this engine has no attribute")
    page.fill("#query", "We love natural language processing a lot")
    page.click("#btn-attribute")
    page.wait_for_selector("#attr-list .doc.attr")
    first = page.locator("#attr-list .span-text").first.inner_text()
    assert "natural language processing" in first
    marked = page.locator("#attr-list .doc.attr").first.locator("mark").all_inner_texts()
    assert marked and "natural language processing" in "".join(marked)
    assert page.locator("#tokens .tok.suffix").count() >= len(" natural language processing")
    page.screenshot(path=str(SHOTS / "attribution.png"), full_page=True)
    assert not page.js_errors


def test_generate(browser: Any, server: LiveServer) -> None:
    page = open_page(browser, server)
    page.fill("#query", "natural language ")
    page.click("#btn-generate")
    page.wait_for_selector("#gen-tokens .tok")
    chips = page.locator("#gen-tokens .tok").all_inner_texts()
    text = page.text_content("#gen-text") or ""
    assert chips and "".join(chips) == text.replace(" ", "␣").replace("\n", "↵")
    assert page.inner_text("#gen-count") == str(len(chips))
    assert "seed" in page.inner_text("#result")
    assert page.locator("#tokens .tok").count() == len("natural language ")
    page.screenshot(path=str(SHOTS / "generate.png"), full_page=True)
    assert not page.js_errors


def test_api_docs_render_offline(browser: Any, server: LiveServer) -> None:
    """/docs and /redoc list the operations with every request off this machine refused: their
    scripts and styles are served by the server itself (ReDoc's "powered by" logo image is the
    one thing it links from outside; refused, the page is the same)."""
    page = browser.new_page()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            if route.request.resource_type != "image":
                outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    ops = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/", "/batch", "/indexes", "/health"} <= {o.strip() for o in ops}
    page.goto(server.url + "/redoc")
    page.wait_for_selector("[role=menuitem]", timeout=15_000)
    assert "/batch" in page.content()
    assert outside == []
    page.close()
