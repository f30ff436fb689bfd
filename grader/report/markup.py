"""A student's markdown -> HTML that is safe to put in a page: `render_markdown(text) -> str`.

markdown-it-py with raw HTML disabled (a student's `<script>` or `<img onerror>` is shown as text),
no images (a URL would make the page fetch it), links only to http(s)/mailto with rel=noopener;
math between `$...$` / `$$...$$` becomes MathML through latex2mathml, whose output is parsed again
and rebuilt from an allowlist of MathML elements and attributes (latex2mathml passes `\\text{<b>}`
and `\\href{...}` through as markup). Math that does not parse is shown as its source, as text.
"""

from __future__ import annotations

import functools
import re
from html import escape
from html.parser import HTMLParser

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
MATHML_TAGS = frozenset(["math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "merror", "mfenced", "semantics"])
MATHML_ATTRS = frozenset(["display", "mathvariant", "stretchy", "fence", "separator", "separators", "lspace", "rspace", "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "rowspacing", "rowlines", "displaystyle", "scriptlevel", "width", "height", "depth", "linethickness", "notation", "minsize", "maxsize", "movablelimits", "symmetric", "largeop", "form", "mathsize", "open", "close"])
SAFE_VALUE = re.compile(r"^[\w\s.#%+\-]*$")  # no ':' '(' quotes: nothing a URL or script needs
SAFE_LINK = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)


class _MathAllowlist(HTMLParser):
    """Rebuilds MathML from allowed elements and attributes only; all text is escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0  # depth inside a dropped element whose text is dropped too (script, style)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        if tag not in MATHML_TAGS or self.skip:
            return
        kept = "".join(f' {k}="{escape(v or "")}"' for k, v in attrs
                       if k in MATHML_ATTRS and SAFE_VALUE.match(v or ""))
        if tag == "math":
            kept = f' xmlns="{MATHML_NS}"' + kept
        self.out.append(f"<{tag}{kept}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        if tag in MATHML_TAGS and not self.skip:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(escape(data))


def safe_mathml(latex: str, display: bool) -> str:
    """MathML of `latex` rebuilt from the allowlist, or the source as escaped text."""
    try:
        raw = convert(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001  (latex2mathml raises many kinds on a student's typo)
        return f'<code class="math-source">{escape(latex)}</code>'
    parser = _MathAllowlist()
    parser.feed(raw)
    parser.close()
    return "".join(parser.out)


def _math(content: str, options: dict) -> str:
    return safe_mathml(content, bool(options.get("display_mode")))


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.use(dollarmath_plugin, allow_labels=False, allow_space=True, allow_digits=False,
           double_inline=True, renderer=_math)
    md.validateLink = lambda url: bool(SAFE_LINK.match(url.strip()))

    def link_open(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        tokens[idx].attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str) -> str:
    """Safe HTML of a student's markdown, math as MathML."""
    return _markdown().render(text)
