"""Safe by default: the server stays on this machine, and user text is never rendered as HTML."""

from __future__ import annotations

import json
import re
import tomllib

import ui
from tests.conftest import ROOT

# Every page app.py registers, wherever its folder is.
PAGES = re.findall(r'st\.Page\(\s*"([^"]+\.py)"', (ROOT / "app.py").read_text())
UI_FILES = [ROOT / "app.py", *(ROOT / "ui").glob("*.py"), *(ROOT / page for page in PAGES)]


def test_server_binds_loopback_unless_told_otherwise() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert run is not None and "--server.address 127.0.0.1" in run.group(1)


def test_a_bug_never_shows_a_traceback_in_the_browser() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_readme_says_what_sharing_on_a_lan_exposes() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Sharing on a LAN", 1)[1].split("\n## ", 1)[0]
    assert "--server.address 0.0.0.0" in section
    assert "read and change the whole store" in section and "no authentication" in section


def test_no_page_renders_html() -> None:
    """Names and notes come from users: nothing on a page may turn text into HTML."""
    assert len(PAGES) >= 5
    html = re.compile(r"unsafe_allow_html\s*=\s*True|st\.html\(|components\.v1\.html|components\.html\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in UI_FILES
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if html.search(line) and "st.html(cookie_script(" not in line
    ]
    assert offenders == []


def test_the_name_cookie_script_keeps_any_name_a_string() -> None:
    # The one script the app writes (tests/e2e/test_shell.py reloads with it): a name that
    # tries to close it or add markup stays inside the JSON string literal.
    script = ui.cookie_script('Mallory </script><img src=x onerror=alert(1)> "\\')
    assert script.count("<") == 2 and script.startswith("<script>") and script.endswith("</script>")
    literal = script.split("encodeURIComponent(", 1)[1].rsplit(") + '; path=/", 1)[0]
    assert json.loads(literal) == 'Mallory </script><img src=x onerror=alert(1)> "\\'
