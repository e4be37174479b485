"""A body's HTML serialised in one call reads as each of its children serialised alone."""

from __future__ import annotations

import pytest
from lxml import etree

from services.normalizer.body import _children_html
from services.normalizer.clean import parse_body


def child_by_child(root: etree._Element) -> str:
    return "".join(etree.tostring(child, encoding="unicode", method="html") for child in root)


@pytest.mark.parametrize("html", [
    "<p>One &amp; two</p> between <p>three &lt;four&gt;</p>tail",
    "lead text<p>a\r\nb\u00a0c</p><!-- note --><ul><li>x<br>y</li></ul><pre>  code\n  lines</pre>",
    "<p>caf\u00e9 \u201cquoted\u201d</p><table><tr><td>1</td></tr></table><img src='https://e.example/a.png'>",
    "<div><p>nested <a href='https://e.example/?a=1&b=2'>link</a> end</p></div>\ttrailing",
    "no markup at all",
])
def test_one_call_reads_as_child_by_child(html: str) -> None:
    root = parse_body(html)._root
    assert root is not None
    text = root.text
    assert _children_html(root) == child_by_child(root)
    assert root.text == text  # the root's own text, left out meanwhile, is put back


def test_a_root_with_attributes_is_serialised_child_by_child() -> None:
    root = etree.fromstring("<body class='x'><p>a</p>b<p>c</p></body>")
    assert _children_html(root) == "<p>a</p>b<p>c</p>"
