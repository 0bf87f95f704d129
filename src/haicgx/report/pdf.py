"""The PDF of a report HTML through WeasyPrint: no URL is ever fetched, and one font
configuration serves every PDF a thread renders."""

from __future__ import annotations

import threading
from typing import Any


def refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL and stops the rendering.

    The report is self-contained by design, so any fetch means the HTML is wrong: fail loudly
    rather than print a PDF that differs from the HTML.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise FatalURLFetchingError(f"report must be self-contained; refused to fetch {url!r}")

    return RefusingFetcher(allowed_protocols=())


_FONTS = threading.local()


def _font_config() -> Any:
    """One WeasyPrint font configuration per thread, reused by every PDF the thread renders.

    Building it (fontconfig and Pango set-up) is a fixed cost of every render otherwise; the
    reports declare no @font-face, so nothing document-specific is ever added to it.
    """
    config = getattr(_FONTS, "config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _FONTS.config = FontConfiguration()
    return config


def render_pdf(html: str) -> bytes:
    """The PDF of a report HTML, without fetching anything."""
    # Imported here: WeasyPrint loads Pango at import time, which the HTML-only path never needs.
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=refusing_fetcher())
    return document.write_pdf(font_config=_font_config())
