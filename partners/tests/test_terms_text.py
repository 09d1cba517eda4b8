"""Usage terms render from Markdown to safe HTML, and their changes read line by line."""

from __future__ import annotations

from partners.terms_text import TermsLine, render_terms, terms_diff


def test_markdown_becomes_html_below_the_pages_own_heading() -> None:
    html = render_terms("# Usage terms\n\n## Data\n\nNever **advertise**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<h2>Usage terms</h2>" in html
    assert "<h3>Data</h3>" in html
    assert "<strong>advertise</strong>" in html
    assert "<td>1</td>" in html


def test_scripts_handlers_images_and_dangerous_links_are_removed() -> None:
    html = render_terms(
        "Hi <script>alert(1)</script> [x](javascript:alert(1)) ![t](https://tracker.example/p.png)\n\n"
        '<img src=x onerror="alert(1)"> <a href="https://ok.example" onclick="steal()">ok</a>'
    )
    assert "<script" not in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert "onclick" not in html
    assert 'href="https://ok.example"' in html


def test_the_diff_lists_removed_and_added_lines_with_a_little_context() -> None:
    old = "One.\n\nKeep data 30 days.\n\nThree.\nFour.\nFive.\nSix."
    new = "One.\n\nKeep data 14 days.\n\nThree.\nFour.\nFive.\nSix.\nSeven."
    assert terms_diff(old, new) == [
        [
            TermsLine("removed", "Keep data 30 days.", old_number=3),
            TermsLine("added", "Keep data 14 days.", new_number=3),
        ],
        [TermsLine("same", "Six.", 8, 8), TermsLine("added", "Seven.", new_number=9)],
    ]


def test_the_same_text_has_no_changes() -> None:
    assert terms_diff("Same.\n", "Same.\n") == []
