"""Everything the customer reads, in English and German: one dict per language.

Only human text lives here; the headless machine lines (see agent.cli) are
fixed English words so that scripts can parse them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TEXTS", "STATUSES", "text", "status_name"]

#: The server's closed set of statuses, in lifecycle order.
STATUSES = ("new", "pending", "in_progress", "closed", "expired")

EN: dict[str, str] = {
    "status.new": "New",
    "status.pending": "Pending",
    "status.in_progress": "In progress",
    "status.closed": "Closed",
    "status.expired": "Expired",
    "status.none": "No open request",
    "status.connecting": "Connecting to support…",
    "title": "{company} QuickSupport",
    "welcome": "Welcome to {company} support.",
    "code.label": "Your session code",
    "code.copy": "Copy",
    "code.copied": "Session code copied",
    "status.label": "Status: {status}",
    "explain.new": "Your request has been received. Please keep this window open.",
    "explain.pending": "Your request is waiting for an expert.",
    "explain.in_progress": "{expert} is connecting to you now.",
    "explain.in_progress_unknown": "An expert is connecting to you now.",
    "explain.closed": "Your request is closed. You can close this window.",
    "explain.expired": "Your request has expired. Please ask for support again if you still need help.",
    "button.close_request": "Close my request",
    "button.quit": "Quit",
    "menu.request": "Request support",
    "menu.code": "Session code: {code} (click to copy)",
    "menu.no_code": "No session code yet",
    "menu.status": "Status: {status}",
    "menu.close": "Close my request",
    "menu.about": "About {company}",
    "menu.quit": "Quit",
    "about": "{company} remote support agent (sosdesk {version}).",
    "notice.unreachable": "Cannot reach support, retrying…",
    "notice.reconnected": "Connected to support again.",
    "notice.rate_limited": "Support is busy, trying again in {seconds} s…",
    "notice.gone": "Your support request no longer exists.",
    "notice.no_display": "No display available: running without a window.",
    "notify.status": "Your support request: {status}",
    "error.revoked": "This support agent has been revoked by {company}. Please ask them for a new one.",
    "error.join": "Could not join the support case: {message}",
    "error.close": "Could not close your request: {message}",
    "error.certificate.not_pinned": "This is not {company}'s support server: it did not show the key this program was made for. Nothing was sent to it. Please contact {company}.",
    "error.certificate.untrusted": "{company}'s support server could not be verified: its certificate is not from an authority this computer trusts ({reason}). Nothing was sent to it. Please contact {company}.",
    "error.certificate.expired": "{company}'s support server could not be verified: its certificate has expired. Nothing was sent to it. Please contact {company}.",
    "error.certificate.not_yet_valid": "{company}'s support server could not be verified: its certificate is not valid yet. Is this computer's date right? Nothing was sent to it.",
    "error.certificate.wrong_name": "{company}'s support server could not be verified: its certificate is for another name. Nothing was sent to it. Please contact {company}.",
    "error.certificate.other": "{company}'s support server could not be verified: {reason}. Nothing was sent to it. Please contact {company}.",
    "error.cannot_start.title": "Support program cannot start",
    "error.cannot_start": "This support program cannot start:",
    "button.ok": "OK",
    "session.ask_view": "{expert} from {company} wants to see your screen.",
    "session.ask_control": "{expert} from {company} wants to control your mouse and keyboard.",
    "session.title": "{company}: remote session",
    "session.allow": "Allow",
    "session.deny": "Deny",
    "session.viewing": "{expert} is viewing your screen",
    "session.controlling": "{expert} is controlling your screen",
    "session.stop": "Stop",
    "session.end.stopped": "You stopped sharing your screen.",
    "session.end.disconnected": "The expert ended the session: your screen is no longer shared.",
    "session.end.lost": "The connection to support was lost: your screen is no longer shared.",
    "session.end.ended": "The session has ended: your screen is no longer shared.",
    "session.end.capture_failed": "Your screen could not be captured: sharing stopped.",
    "session.notice.wayland": "Your screen cannot be shared: this desktop uses Wayland. "
                              "Log in with an Xorg session to share it. Chat works as usual.",
    "session.notice.consent_failed": "Your answer did not reach support. They can ask again.",
    "session.notice.chat_failed": "Your message could not be sent. Please try again.",
    "chat.title": "Chat with support",
    "chat.send": "Send",
    "chat.you": "You",
}

DE: dict[str, str] = {
    "status.new": "Neu",
    "status.pending": "Ausstehend",
    "status.in_progress": "In Bearbeitung",
    "status.closed": "Geschlossen",
    "status.expired": "Abgelaufen",
    "status.none": "Keine offene Anfrage",
    "status.connecting": "Verbindung zum Support wird hergestellt…",
    "title": "{company} QuickSupport",
    "welcome": "Willkommen beim Support von {company}.",
    "code.label": "Ihr Sitzungscode",
    "code.copy": "Kopieren",
    "code.copied": "Sitzungscode kopiert",
    "status.label": "Status: {status}",
    "explain.new": "Ihre Anfrage ist eingegangen. Bitte lassen Sie dieses Fenster geöffnet.",
    "explain.pending": "Ihre Anfrage wartet auf einen Experten.",
    "explain.in_progress": "{expert} verbindet sich jetzt mit Ihnen.",
    "explain.in_progress_unknown": "Ein Experte verbindet sich jetzt mit Ihnen.",
    "explain.closed": "Ihre Anfrage ist geschlossen. Sie können dieses Fenster schließen.",
    "explain.expired": "Ihre Anfrage ist abgelaufen. Bitte fordern Sie erneut Support an, falls Sie noch Hilfe brauchen.",
    "button.close_request": "Meine Anfrage schließen",
    "button.quit": "Beenden",
    "menu.request": "Support anfordern",
    "menu.code": "Sitzungscode: {code} (klicken zum Kopieren)",
    "menu.no_code": "Noch kein Sitzungscode",
    "menu.status": "Status: {status}",
    "menu.close": "Meine Anfrage schließen",
    "menu.about": "Über {company}",
    "menu.quit": "Beenden",
    "about": "Fernwartungs-Agent von {company} (sosdesk {version}).",
    "notice.unreachable": "Support nicht erreichbar, neuer Versuch läuft…",
    "notice.reconnected": "Wieder mit dem Support verbunden.",
    "notice.rate_limited": "Der Support ist ausgelastet, neuer Versuch in {seconds} s…",
    "notice.gone": "Ihre Support-Anfrage existiert nicht mehr.",
    "notice.no_display": "Keine Anzeige verfügbar: ohne Fenster weiter.",
    "notify.status": "Ihre Support-Anfrage: {status}",
    "error.revoked": "Dieser Support-Agent wurde von {company} gesperrt. Bitte fordern Sie einen neuen an.",
    "error.join": "Beitritt zum Support-Fall nicht möglich: {message}",
    "error.close": "Ihre Anfrage konnte nicht geschlossen werden: {message}",
    "error.certificate.not_pinned": "Dies ist nicht der Support-Server von {company}: Er hat nicht den Schlüssel vorgezeigt, für den dieses Programm gemacht ist. Es wurde nichts an ihn gesendet. Bitte wenden Sie sich an {company}.",
    "error.certificate.untrusted": "Der Support-Server von {company} konnte nicht überprüft werden: Sein Zertifikat stammt nicht von einer Stelle, der dieser Computer vertraut ({reason}). Es wurde nichts an ihn gesendet. Bitte wenden Sie sich an {company}.",
    "error.certificate.expired": "Der Support-Server von {company} konnte nicht überprüft werden: Sein Zertifikat ist abgelaufen. Es wurde nichts an ihn gesendet. Bitte wenden Sie sich an {company}.",
    "error.certificate.not_yet_valid": "Der Support-Server von {company} konnte nicht überprüft werden: Sein Zertifikat ist noch nicht gültig. Stimmt das Datum dieses Computers? Es wurde nichts an ihn gesendet.",
    "error.certificate.wrong_name": "Der Support-Server von {company} konnte nicht überprüft werden: Sein Zertifikat gilt für einen anderen Namen. Es wurde nichts an ihn gesendet. Bitte wenden Sie sich an {company}.",
    "error.certificate.other": "Der Support-Server von {company} konnte nicht überprüft werden: {reason}. Es wurde nichts an ihn gesendet. Bitte wenden Sie sich an {company}.",
    "error.cannot_start.title": "Support-Programm kann nicht starten",
    "error.cannot_start": "Dieses Support-Programm kann nicht starten:",
    "button.ok": "OK",
    "session.ask_view": "{expert} von {company} möchte Ihren Bildschirm sehen.",
    "session.ask_control": "{expert} von {company} möchte Ihre Maus und Tastatur steuern.",
    "session.title": "{company}: Fernsitzung",
    "session.allow": "Zulassen",
    "session.deny": "Ablehnen",
    "session.viewing": "{expert} sieht Ihren Bildschirm",
    "session.controlling": "{expert} steuert Ihren Bildschirm",
    "session.stop": "Beenden",
    "session.end.stopped": "Sie haben die Bildschirmfreigabe beendet.",
    "session.end.disconnected": "Der Experte hat die Sitzung beendet: Ihr Bildschirm wird nicht mehr geteilt.",
    "session.end.lost": "Die Verbindung zum Support ist unterbrochen: Ihr Bildschirm wird nicht mehr geteilt.",
    "session.end.ended": "Die Sitzung ist beendet: Ihr Bildschirm wird nicht mehr geteilt.",
    "session.end.capture_failed": "Ihr Bildschirm konnte nicht aufgenommen werden: die Freigabe wurde beendet.",
    "session.notice.wayland": "Ihr Bildschirm kann nicht geteilt werden: dieser Desktop verwendet Wayland. "
                              "Melden Sie sich mit einer Xorg-Sitzung an, um ihn zu teilen. Der Chat funktioniert wie gewohnt.",
    "session.notice.consent_failed": "Ihre Antwort hat den Support nicht erreicht. Er kann erneut fragen.",
    "session.notice.chat_failed": "Ihre Nachricht konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
    "chat.title": "Chat mit dem Support",
    "chat.send": "Senden",
    "chat.you": "Sie",
}

TEXTS: dict[str, dict[str, str]] = {"en": EN, "de": DE}


def text(lang: str, key: str, **values: Any) -> str:
    """The text *key* in *lang* (English when missing), with *values* filled in."""
    template = TEXTS.get(lang, EN).get(key) or EN[key]
    return template.format(**values)


def status_name(lang: str, status: str | None) -> str:
    """A status in words for the customer, e.g. ``In Bearbeitung``."""
    if status is None:
        return text(lang, "status.none")
    if status not in STATUSES:
        return status
    return text(lang, f"status.{status}")
