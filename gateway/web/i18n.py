"""The web app's languages: one JSON dictionary per language in ``locales/``, the same for the
server-rendered pages and the browser (which receives its language's dictionary in the page).

A user's language is the one they chose (remembered in a cookie), else the best of the browser's
Accept-Language, else English.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request

LANG_COOKIE = "sf_lang"
DEFAULT = "en"
MESSAGES: dict[str, dict[str, str]] = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((Path(__file__).parent / "locales").glob("*.json"))
}


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in MESSAGES:
        return chosen
    return preferred(request.headers.get("accept-language", ""))


def preferred(accept_language: str) -> str:
    """The supported language the header ranks highest (``ko-KR,ko;q=0.9,en;q=0.8`` → ko)."""
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        try:
            quality = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            continue
        code = tag.strip().lower().split("-")[0]
        if code in MESSAGES and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else DEFAULT
