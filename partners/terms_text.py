"""Usage terms as people read them: Markdown made into safe HTML, and what changed between two versions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import markdown  # type: ignore[import-untyped]
import nh3
from django.utils.safestring import SafeString, mark_safe

# What terms may contain once rendered: text structure, links and tables; no images (nothing is
# fetched from elsewhere), no scripts, no styles, no forms.
TERMS_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre",
    "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "a", "abbr", "table", "thead", "tbody", "tr",
    "th", "td", "caption", "sup", "sub", "del", "ins",
}  # fmt: skip
TERMS_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
TERMS_URL_SCHEMES = {"https", "http", "mailto"}

_HEADING = re.compile(r"<(/?)h([1-5])>")


def render_terms(body: str) -> SafeString:
    """Return the terms' Markdown as sanitised HTML, its headings one level below the page's own."""
    html = markdown.markdown(body, extensions=["tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(html, tags=TERMS_TAGS, attributes=TERMS_ATTRIBUTES, url_schemes=TERMS_URL_SCHEMES)
    # The page has its own h1, so "# Title" in the terms becomes an h2 (nh3 leaves headings bare).
    demoted = _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", cleaned)
    return mark_safe(demoted)  # noqa: S308 - sanitised by nh3 just above


@dataclass(frozen=True)
class TermsLine:
    """One line of a comparison: `kind` is "added", "removed" or "same"."""

    kind: str
    text: str
    old_number: int | None = None
    new_number: int | None = None


def terms_diff(old: str, new: str, *, context: int = 1) -> list[list[TermsLine]]:
    """Return the changes from `old` to `new` as groups of lines, each with `context` unchanged lines."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    groups: list[list[TermsLine]] = []
    for opcodes in matcher.get_grouped_opcodes(context):
        group: list[TermsLine] = []
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal":
                group.extend(
                    TermsLine("same", old_lines[i], i + 1, j + 1)
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
                continue
            group.extend(TermsLine("removed", old_lines[i], old_number=i + 1) for i in range(i1, i2))
            group.extend(TermsLine("added", new_lines[j], new_number=j + 1) for j in range(j1, j2))
        # Blank lines only separate Markdown paragraphs; showing them would add noise, not meaning.
        shown = [line for line in group if line.text.strip()]
        if any(line.kind != "same" for line in shown):
            groups.append(shown)
    return groups
