"""Text for Telegram's HTML parse mode: escaping, length in Telegram's units, splitting at 4,096.

We use HTML rather than MarkdownV2 because its escaping is three characters (`& < >`) instead of eighteen, so
a stock name or an error text can never break a message. Telegram limits a message to 4,096 characters
counted in UTF-16 code units (an emoji counts two); we count the raw HTML, which is never shorter than the
parsed text, so a part that passes here passes there.
"""

from __future__ import annotations

import html
import re

PARSE_MODE = "HTML"
MAX_MESSAGE_UNITS = 4096
_TAG_RE = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^>]*)?>")


def escape(value: object) -> str:
    """Escape a value for HTML parse mode (`&`, `<`, `>`; quotes only matter inside attributes)."""
    return html.escape(str(value), quote=False)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def strip_tags(text: str) -> str:
    """Plain text of an HTML-mode message (the fallback when Telegram cannot parse our markup)."""
    return html.unescape(_TAG_RE.sub("", text))


def _tokens(text: str) -> list[str]:
    """Split into indivisible pieces: tags, entities, and single characters."""
    tokens: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<":
            end = text.find(">", i)
            if end != -1:
                tokens.append(text[i:end + 1])
                i = end + 1
                continue
        elif ch == "&":
            end = text.find(";", i, i + 12)
            if end != -1:
                tokens.append(text[i:end + 1])
                i = end + 1
                continue
        tokens.append(ch)
        i += 1
    return tokens


def split_message(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Split an HTML-mode message into parts of at most `limit` UTF-16 units.

    Cuts prefer a line break (then a space) in the last quarter of a part; a cut never falls inside a tag or
    an entity, and tags open at a cut are closed at the end of the part and reopened at the start of the next,
    so every part is valid markup on its own.
    """
    if utf16_len(text) <= limit:
        return [text]
    tokens = _tokens(text)
    parts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, opening tag text)
    index = 0
    while index < len(tokens):
        prefix = "".join(tag for _, tag in open_tags)
        used = utf16_len(prefix)
        stack = list(open_tags)
        chunk: list[str] = []
        best_cut: tuple[int, list[tuple[str, str]]] | None = None  # (token count, tag stack after it)
        space_cut: tuple[int, list[tuple[str, str]]] | None = None
        j = index
        while j < len(tokens):
            token = tokens[j]
            closing_cost = sum(len(name) + 3 for name, _ in stack)
            new_stack = stack
            match = _TAG_RE.fullmatch(token)
            if match:
                name = match.group(2).lower()
                if match.group(1):
                    new_stack = stack[:-1] if stack and stack[-1][0] == name else stack
                else:
                    new_stack = [*stack, (name, token)]
                closing_cost = sum(len(n) + 3 for n, _ in new_stack)
            cost = utf16_len(token)
            if used + cost + closing_cost > limit:
                break
            chunk.append(token)
            used += cost
            stack = new_stack
            j += 1
            if token == "\n" and used >= limit * 3 // 4:
                best_cut = (len(chunk), list(stack))
            elif token == " " and used >= limit * 3 // 4:
                space_cut = (len(chunk), list(stack))
        if j >= len(tokens):
            best_cut = (len(chunk), list(stack))
        elif best_cut is None:
            best_cut = space_cut
        if best_cut is None:
            if not chunk:
                raise ValueError("limit too small for the markup")
            best_cut = (len(chunk), list(stack))
        count, stack_after = best_cut
        body = "".join(chunk[:count])
        closing = "".join(f"</{name}>" for name, _ in reversed(stack_after))
        parts.append(prefix + body + closing)
        open_tags = stack_after
        index += count
    return [p for p in parts if strip_tags(p).strip()] or parts[:1]
