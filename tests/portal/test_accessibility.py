"""The portal's pages in real Chromium, checked by axe-core (WCAG 2.1 A and AA: labels,
headings, contrast, names, landmarks, language) and by keyboard: the first Tab stop is the
skip link, and no control is taken out of the Tab order. The pages are those a visitor
meets without an account, and the forms of one who signs up."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accessibility import assert_keyboard_reachable, describe, violations

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/dataset",
    "/dataset?q=gongjiao",
    "/organization",
    "/open-list",
    "/stats",
    "/demands",
    "/reuses",
    "/developers",
    "/register",
    "/login",
]


def _first_link(page: Any, listing: str, prefix: str) -> str:
    page.goto(listing)
    href = page.eval_on_selector(
        f"main a[href^='{prefix}']:not([href*='.']):not([href*='?'])", "a => a.getAttribute('href')"
    )
    assert href, f"{listing} links to no {prefix} page"
    return str(href)


def test_portal_pages_are_accessible(page: Any) -> None:
    entry = _first_link(page, "/dataset", "/dataset/")
    agency = _first_link(page, "/organization", "/organization/")
    problems = []
    for url in [*PAGES, entry, agency]:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        if page.locator("h1").count() != 1:
            problems.append(f"{url}: {page.locator('h1').count()} h1 elements, not one")
        if found := violations(page):
            problems.append(f"{url}:\n{describe(found)}")
    assert not problems, "\n".join(problems)
    page.goto(entry)
    assert_keyboard_reachable(page)
