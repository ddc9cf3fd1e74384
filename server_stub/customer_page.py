"""The page an end_customer_link opens: the company's logo and name, the session code,
and its QuickSupport to download. HTML made from text, no I/O.

Whatever the page shows comes through ``html.escape``; the logo is a PNG from the
agent's own branding, shown as a data: URL (the Content-Security-Policy allows
images from there and nothing inline else, so the page's style is a static file).
It tells the customer nothing the code does not already give: no description,
no names, no status.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["TEXTS", "language", "system_of", "page", "message_page"]

OS_NAMES = {"windows": "Windows", "macos": "macOS", "linux": "Linux"}

TEXTS = {
    "en": {
        "title": "Remote support",
        "your_code": "Your support session code",
        "download": "Download QuickSupport for {os}",
        "other": "For another system:",
        "step_download": "Download the program.",
        "step_start": "Start it: it connects you to {company} by itself, with this code.",
        "step_unix": "On macOS and Linux, allow it to run first (make it executable).",
        "no_agent": "Ask {company} for their QuickSupport program, start it and enter this code.",
        "support": "your support",
        "not_found": "No open support session has this code. Check the link, or ask your support "
                     "for a new one.",
        "limited": "Too many wrong codes from your network. Please try again in {minutes} "
                   "minute(s).",
        "unavailable": "This page cannot be shown right now. Please try again in a moment.",
        "no_download": "There is no QuickSupport for this system. Go back to the page with "
                       "your code and choose another.",
    },
    "de": {
        "title": "Fernwartung",
        "your_code": "Ihr Sitzungscode",
        "download": "QuickSupport für {os} herunterladen",
        "other": "Für ein anderes System:",
        "step_download": "Laden Sie das Programm herunter.",
        "step_start": "Starten Sie es: Es verbindet Sie mit diesem Code von selbst mit {company}.",
        "step_unix": "Unter macOS und Linux erlauben Sie zuerst, es auszuführen (ausführbar machen).",
        "no_agent": "Bitten Sie {company} um das QuickSupport-Programm, starten Sie es und geben "
                    "Sie diesen Code ein.",
        "support": "Ihren Support",
        "not_found": "Zu diesem Code gibt es keine offene Support-Sitzung. Prüfen Sie den Link "
                     "oder bitten Sie Ihren Support um einen neuen.",
        "limited": "Zu viele falsche Codes aus Ihrem Netz. Bitte versuchen Sie es in {minutes} "
                   "Minute(n) noch einmal.",
        "unavailable": "Die Seite kann gerade nicht angezeigt werden. Bitte versuchen Sie es "
                       "gleich noch einmal.",
        "no_download": "Für dieses System gibt es kein QuickSupport. Gehen Sie zurück zur Seite "
                       "mit Ihrem Code und wählen Sie ein anderes.",
    },
}


def language(accept_language: str | None) -> str:
    """The customer's language from Accept-Language: 'de' if German comes first, else 'en'."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("de"):
            return "de"
        if tag.startswith("en") or tag == "*":
            return "en"
    return "en"


def system_of(user_agent: str | None) -> str | None:
    """The visitor's OS as a target name, from the User-Agent (None if it does not say)."""
    agent = user_agent or ""
    if "Windows" in agent:
        return "windows"
    if "Macintosh" in agent or "Mac OS X" in agent:
        return "macos"
    if "Linux" in agent or "X11" in agent:
        return "linux"
    return None


def _document(lang: str, title: str, body: str) -> bytes:
    return (f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="robots" content="noindex">\n<title>{html.escape(title)}</title>\n'
            f'<link rel="icon" href="data:,">\n'
            f'<link rel="stylesheet" href="/static/customer.css">\n</head>\n<body>\n'
            f'<main class="card">\n{body}</main>\n</body>\n</html>\n').encode("utf-8")


def page(lang: str, code: str, company: str | None, logo_png_b64: str | None,
         downloads: dict[str, str], preferred: str | None) -> bytes:
    """The page for an open case: *downloads* maps an OS to its download's path."""
    texts = TEXTS[lang]
    name = company or texts["support"]
    parts = []
    if logo_png_b64:
        parts.append(f'<img class="logo" src="data:image/png;base64,{html.escape(logo_png_b64)}" '
                     f'alt="{html.escape(name)}">\n')
    if company:
        parts.append(f"<h1>{html.escape(company)}</h1>\n")
    parts.append(f'<p class="label">{html.escape(texts["your_code"])}</p>\n'
                 f'<p class="code" data-code="{html.escape(code)}">{html.escape(code)}</p>\n')
    if downloads:
        first = preferred if preferred in downloads else next(iter(downloads))
        ordered = [first] + [os_ for os_ in downloads if os_ != first]
        parts.append(f'<p><a class="download" data-os="{first}" href="{html.escape(downloads[first])}">'
                     f'{html.escape(texts["download"].format(os=OS_NAMES[first]))}</a></p>\n')
        if len(ordered) > 1:
            links = " ".join(f'<a data-os="{os_}" href="{html.escape(downloads[os_])}">'
                             f'{OS_NAMES[os_]}</a>' for os_ in ordered[1:])
            parts.append(f'<p class="others">{html.escape(texts["other"])} {links}</p>\n')
        steps = [texts["step_download"], texts["step_start"].format(company=name)]
        if set(downloads) & {"macos", "linux"}:
            steps.append(texts["step_unix"])
        parts.append('<ol class="steps">' + "".join(f"<li>{html.escape(step)}</li>" for step in steps)
                     + "</ol>\n")
    else:
        parts.append(f'<p class="note">{html.escape(texts["no_agent"].format(company=name))}</p>\n')
    title = f"{company} – {texts['title']}" if company else texts["title"]
    return _document(lang, title, "".join(parts))


def message_page(lang: str, key: str, **values: Any) -> bytes:
    """A page that only says why there is nothing to show (not found, wait, try later)."""
    texts = TEXTS[lang]
    return _document(lang, texts["title"],
                     f'<p class="note" data-reason="{key}">'
                     f"{html.escape(texts[key].format(**values))}</p>\n")
