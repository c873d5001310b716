"""Text from uploads made harmless for Markdown, and email addresses masked for logs and previews.

Names, companies, event titles and reasons come from files anyone can export, and the report is rendered as
Markdown by the Dagster UI and by whatever opens the .md file. `md_text` makes such text display literally:
no link, image, raw HTML, emphasis or table break can come out of it. Syntax characters get backslash escapes,
which CommonMark renders invisibly (`Acme [EU]` still reads `Acme [EU]`). GFM's autolinks (bare `https://…`,
`www.…`, `a@b.io`) are found by remark-gfm in the text *after* escapes are resolved, so a backslash cannot stop
them: an invisible WORD JOINER (U+2060) goes after `:` of `://`, after `www` and after `@`, which no autolink
pattern accepts (seen in the Dagster UI: escaped addresses were still rendered as links).

`mask_email` keeps what a person needs to recognise a contact in the Dagster event log (first letter and
domain) and hides the rest: `dana.lee@acme.io` -> `d***@acme.io`.
"""

from __future__ import annotations

import math
import re

__all__ = ["MASK", "mask_email", "mask_emails_in", "md_text"]

MASK = "***"
# Every character that starts Markdown syntax inline: links and images need `[`…`]` (and `!`), HTML `<`,
# emphasis and code (* _ ` ~), tables (|) and the escape itself (\\). Parentheses and `#` cannot start anything
# once `[` `]` are escaped and the text is never at a line start.
_SPECIAL = re.compile(r"([\\`*_\[\]!<>|~])")
JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)")
_EMAIL = re.compile(r"(?i)\b([a-z0-9])[a-z0-9._%+'-]*@([a-z0-9.-]+\.[a-z]{2,})\b")


def md_text(value: object) -> str:
    """`value` as Markdown that displays exactly this text: '' for None/NaN, one line (newlines to spaces)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())
    text = _SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(JOINER, text)  # `https:⁠//`, `www⁠.`, `a@⁠b.io`: no autolink pattern matches


def mask_email(email: str) -> str:
    """`dana.lee@acme.io` -> `d***@acme.io`; text that is not an address is masked whole."""
    text = str(email or "").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return MASK if text else ""
    return f"{local[0].lower()}{MASK}@{domain.lower()}"


def mask_emails_in(text: object) -> str:
    """Every address inside free text masked, e.g. 'Ana Lima (ana@acme.com)' -> 'Ana Lima (a***@acme.com)'."""
    return _EMAIL.sub(lambda m: f"{m[1].lower()}{MASK}@{m[2].lower()}", "" if text is None else str(text))
