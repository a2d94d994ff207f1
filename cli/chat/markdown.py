"""Markdown for a terminal that hides nothing the model wrote.

rich's renderer drops what a terminal cannot style: inline and block HTML vanish (`<b>x</b>` shows as
`x`), and a link shows its text only. Here a link shows its URL after its text (`link (http://x)`; an
autolink once), an image its alt text and URL, and HTML its tags as written. Backslash escapes are
markdown's own (`a\\.b` is `a.b`); `--raw`, `/markdown off` or `markdown = false` print the text as it came.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from markdown_it.token import Token
from rich.markdown import Markdown as RichMarkdown


class Markdown(RichMarkdown):
    def __init__(self, markup: str, **options: Any) -> None:
        super().__init__(markup, hyperlinks=False, **options)  # hyperlinks=False: rich prints `text (url)`
        self.parsed = list(_visible(self.parsed))


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _visible(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        if token.type == "html_block":  # a paragraph of the HTML as written
            yield Token("paragraph_open", "p", 1, map=token.map, block=True)
            yield Token("inline", "", 0, content=token.content, children=[_text(token.content.rstrip("\n"))])
            yield Token("paragraph_close", "p", -1, block=True)
        else:
            if token.children:
                token.children = list(_visible_inline(token.children))
            yield token


def _visible_inline(children: list[Token]) -> Iterator[Token]:
    skip_close = 0
    for at, token in enumerate(children):
        if token.type == "html_inline":
            yield _text(token.content)
        elif token.type == "image":
            alt = "".join(child.content for child in token.children or ())
            yield _text(f"{alt} ({token.attrs.get('src', '')})" if alt else f"({token.attrs.get('src', '')})")
        elif token.type == "link_open" and _autolink(children, at):
            skip_close += 1  # the URL is the text already: shown once, no `(url)` after it
        elif token.type == "link_close" and skip_close:
            skip_close -= 1
        else:
            yield token


def _autolink(children: list[Token], at: int) -> bool:
    """A link whose only text is its URL (`<http://x>`, a bare URL with linkify)."""
    if at + 2 >= len(children) or children[at + 2].type != "link_close" or children[at + 1].type != "text":
        return False
    href, text = str(children[at].attrs.get("href", "")), children[at + 1].content
    return href in (text, f"mailto:{text}")
