"""Text from users and files on the page: escaped, and errors as their sentence.

Apart from `widgets` because `frames` needs them too (a failing store is explained where it is
read), and `widgets` needs `frames` (a write opens the store): here, both import it and neither
imports the other in a circle.
"""

from __future__ import annotations

import re

import streamlit as st


def as_text(typed: str) -> str:
    """Text from a user or a file (names, notes, cell values), escaped so Markdown shows it as typed.

    Streamlit also turns bare web addresses and e-mails (`http://…`, `www.…`, `ann@acme.com`)
    into links, escaped or not, so a name or a link parameter could put a working link on the
    page: an invisible word joiner (U+2060) before `//`, `@` and inside `www.` keeps them text.
    """
    defused = re.sub(r"(//|@|(?<=w)ww\.)", "\u2060\\1", typed, flags=re.IGNORECASE)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~$])", r"\\\1", defused)


def show_error(error: Exception) -> None:
    st.error(as_text(str(error)), icon=":material/error:")
