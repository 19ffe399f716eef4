"""A firm's own CSS: checked before it is stored, served as ``/brand.css`` at its host.

The pages' CSP already forbids script and fonts from elsewhere, but it lets images come
from any ``https:`` site (a firm's logo may live on its own site): CSS that loads an image
from a URL chosen by the CSS's author, under a selector that matches an attribute's value,
tells that site what the page holds. So a firm's CSS is parsed (tinycss2: escapes are
decoded first, so ``@\\69mport`` is still ``@import``) and refused, naming the rule it
broke (:class:`CssRefused`), when it has:

- ``@import`` (``import``), ``@charset`` (``charset``), ``@namespace`` (``namespace``) or
  another at-rule not on the list (``at-rule``);
- ``url()`` to anything but the firm's own uploads (``url``), ``image-set()`` or ``src()``
  (``image-set``), ``@font-face`` with a ``src`` (``font-face``: fonts are system fonts);
- ``expression()`` (``expression``), ``javascript:`` (``javascript``), ``behavior`` or
  ``-moz-binding`` (``binding``);
- ``</style`` (``style-end``), or more than :data:`MAX_CSS` bytes (``size``), or text
  that does not parse (``syntax``).

Nothing is stripped: what is stored is what the admin wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import tinycss2
import tinycss2.ast

from gateway.errors import FieldError, Unprocessable

MAX_CSS = 32 * 1024  # bytes
ALLOWED_AT_RULES = frozenset({"media", "supports", "keyframes", "-webkit-keyframes", "layer",
                              "container", "font-face"})
NESTED_RULES = frozenset({"media", "supports", "layer", "container"})
OWN_UPLOAD = re.compile(
    r"^/(brand/(logo|apple-touch-icon)\.png|favicon\.ico)(\?v=[0-9a-f]{1,64})?\Z")
BINDINGS = frozenset({"behavior", "-moz-binding", "-ms-behavior"})


class CssRefused(Unprocessable):
    """The firm's CSS broke ``rule`` (422, ``$.css``)."""

    code = "css_refused"

    def __init__(self, rule: str, problem: str, line: int | None = None) -> None:
        where = f" (line {line})" if line else ""
        message = f"refused by the rule {rule!r}{where}: {problem}"
        super().__init__(message, fields=[FieldError("$.css", message)])
        self.rule = rule


def check_css(css: str) -> str:
    """``css`` when it passes every rule, else :class:`CssRefused` naming the first broken."""
    size = len(css.encode("utf-8"))
    if size > MAX_CSS:
        raise CssRefused("size", f"the CSS is {size} bytes; at most {MAX_CSS}")
    found = re.search(r"j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:", css, re.I)
    if found:
        line = css.count("\n", 0, found.start()) + 1
        raise CssRefused("javascript", "javascript: URLs run script", line)
    found = re.search(r"</style", css, re.I)
    if found:
        line = css.count("\n", 0, found.start()) + 1
        raise CssRefused("style-end", "'</style' could end the stylesheet's element", line)
    _rules(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    return css


def _rules(nodes: Iterable[Any]) -> None:
    for node in nodes:
        if node.type == "error":
            raise CssRefused("syntax", f"the CSS does not parse: {node.message}",
                             node.source_line)
        if node.type == "at-rule":
            _at_rule(node)
        elif node.type == "qualified-rule":
            _tokens(node.prelude)
            _declarations(node.content)


def _at_rule(node: tinycss2.ast.AtRule) -> None:
    keyword = node.lower_at_keyword
    line = node.source_line
    if keyword in ("import", "charset", "namespace"):
        what = {"import": "it loads another stylesheet, from anywhere",
                "charset": "the stylesheet is served as UTF-8",
                "namespace": "namespaces are not needed in a page's CSS"}[keyword]
        raise CssRefused(keyword, f"@{keyword} is not allowed: {what}", line)
    if keyword not in ALLOWED_AT_RULES:
        raise CssRefused("at-rule", f"@{keyword} is not allowed (allowed: "
                         f"{', '.join('@' + k for k in sorted(ALLOWED_AT_RULES))})", line)
    _tokens(node.prelude)
    if node.content is None:
        return
    if keyword == "font-face":
        for declaration in _parsed_declarations(node.content):
            if declaration.lower_name == "src":
                raise CssRefused("font-face", "@font-face with a src loads a font from "
                                 "elsewhere; pick one of the system fonts", line)
        _declarations(node.content)
    elif keyword in NESTED_RULES:
        _rules(tinycss2.parse_rule_list(node.content, skip_comments=True,
                                        skip_whitespace=True))
    else:  # keyframes: blocks of declarations
        _rules(tinycss2.parse_rule_list(node.content, skip_comments=True,
                                        skip_whitespace=True))


def _parsed_declarations(content: list[Any]) -> list[Any]:
    return [node for node in tinycss2.parse_blocks_contents(
        content, skip_comments=True, skip_whitespace=True) if node.type == "declaration"]


def _declarations(content: list[Any]) -> None:
    for node in tinycss2.parse_blocks_contents(content, skip_comments=True,
                                               skip_whitespace=True):
        if node.type == "error":
            raise CssRefused("syntax", f"the CSS does not parse: {node.message}",
                             node.source_line)
        if node.type == "declaration":
            if node.lower_name in BINDINGS:
                raise CssRefused("binding", f"{node.lower_name} attaches code to elements",
                                 node.source_line)
            _tokens(node.value)
        elif node.type == "qualified-rule":  # CSS nesting
            _tokens(node.prelude)
            _declarations(node.content)
        elif node.type == "at-rule":
            _at_rule(node)


def _tokens(tokens: Iterable[Any] | None) -> None:
    for token in tokens or ():
        kind = token.type
        line = getattr(token, "source_line", None)
        if kind == "error":  # a bad url( or string: never passed on as it is
            raise CssRefused("syntax", f"the CSS does not parse: {token.message}", line)
        if kind == "url":
            _url(token.value, line)
        elif kind == "function":
            name = token.lower_name
            if name == "expression":
                raise CssRefused("expression", "expression() runs script (old IE)", line)
            if name == "url":
                strings = [t.value for t in token.arguments if t.type == "string"]
                _url(strings[0] if strings else "", line)
            elif name in ("image-set", "-webkit-image-set", "src"):
                raise CssRefused("image-set", f"{name}() loads images by URL; use url() "
                                 "with one of the firm's own uploads", line)
            _tokens(token.arguments)
        elif kind in ("() block", "[] block", "{} block"):
            _tokens(token.content)
        elif kind in ("string", "ident") and "javascript:" in token.value.lower().replace(
                " ", ""):
            raise CssRefused("javascript", "javascript: URLs run script", line)


def _url(value: str, line: int | None) -> None:
    if "javascript:" in value.lower().replace(" ", ""):
        raise CssRefused("javascript", "javascript: URLs run script", line)
    if not OWN_UPLOAD.match(value.strip()):
        shown = value if len(value) <= 60 else value[:60] + "…"
        raise CssRefused("url", f"url({shown}) is not one of the firm's own uploads "
                         "(/brand/logo.png, /brand/apple-touch-icon.png, /favicon.ico): "
                         "CSS may not load anything from elsewhere", line)
