"""Untrusted Markdown in, safe HTML out: the only place HTML is trusted.

markdown-it-py parses CommonMark in linear time with raw HTML off; nh3 then keeps only
the tags, attributes and URL schemes listed here. Python-Markdown is not used (quadratic
on unmatched brackets) nor bleach (end of life on 2026-06-05).
"""

import re
from typing import NamedTuple

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "blockquote", "pre", "code", "em", "strong", "del", "s",
    "a", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+.#-]{1,40}")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Only a plain language class, as fenced code blocks get it, survives on <code>.
    if tag == "code" and attribute == "class" and not LANGUAGE_CLASS.fullmatch(value):
        return None
    return value


def sanitize(html: str) -> str:
    """Keep only allowlisted tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(text: str) -> Markup:
    """Render untrusted Markdown to sanitized HTML."""
    return Markup(sanitize(_parser.render(text or "")))


class Rendered(NamedTuple):
    """Markdown with its sanitized HTML. Rendering is CPU work: it is done before a write
    transaction begins, never while the write lock is held (one organization's long
    messages would otherwise hold up every organization's writes on SQLite)."""

    text: str
    html: Markup


def rendered(text: str) -> Rendered:
    return Rendered(text, render_markdown(text))


def stored_html(html: str | None) -> Markup:
    """Mark HTML that render_markdown produced and the database stored as safe to show."""
    return Markup(html or "")
