"""What the Content-Security-Policy must allow for plotly.js to style its charts."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

# A <style> element that a script of the bundle creates with fixed text (maplibre's map
# stylesheet, in plotly.js 4): `x.id="...",x.textContent='...'`.
_FIXED_STYLE = re.compile(
    r'createElement\("style"\);(\w+)\.id="[^"]*",\1\.textContent=\'((?:[^\'\\]|\\.)*)\''
)


def _source(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def plotly_style_hashes(*, script: Path) -> list[str]:
    """CSP hash sources for the inline <style> elements plotly.js adds.

    plotly.js adds its own rules to an empty <style> through the CSSOM, which a policy does
    not restrict, so allowing the hash of the empty text lets exactly that element in.
    The fixed stylesheets it injects are hashed from the installed bundle, so the policy
    follows plotly upgrades. Text with escapes is skipped: its hash would not match.
    """
    hashes = [_source("")]
    for match in _FIXED_STYLE.finditer(script.read_text(encoding="utf-8")):
        if "\\" not in match.group(2):
            hashes.append(_source(match.group(2)))
    return hashes
