"""Everything the customer reads, in English and German: one dict per language.

Only human text lives here; the headless machine lines (see agent.cli) are
fixed English words so that scripts can parse them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TEXTS", "STATUSES", "text", "status_name", "case_words", "server_error_words"]

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
    "explain.in_progress": "{expert} is handling your request.",
    "explain.in_progress_unknown": "An expert is handling your request.",
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
    "words.waiting": "Waiting for an expert",
    "words.waiting.explain": "Your request has arrived. An expert will connect to you shortly. Please keep this window open.",
    "words.joined": "Waiting for your expert",
    "words.joined.explain": "You are connected. Your expert will be with you shortly. Please keep this window open.",
    "words.connecting": "{expert} is connecting",
    "words.connecting.explain": "{expert} will ask you for permission to see your screen.",
    "words.helping": "{expert} is helping you",
    "words.helping.explain": "Your screen is not shared. You can write to {expert} below.",
    "words.closed": "Your request is closed",
    "words.closed.explain": "You can close this window.",
    "words.expired": "Your request has expired",
    "words.expired.explain": "Please ask for support again if you still need help.",
    "close.title": "Close the window?",
    "close.question": "Your request stays open, so {company} can still help you: the support program keeps running in the tray, next to the clock.",
    "close.keep": "Keep my request open",
    "close.close": "Close my request",
    "close.cancel": "Cancel",
    "close_request.title": "Close your request?",
    "close_request.question": "{expert} is helping you right now. If you close your request, the session ends.",
    "describe.label": "What do you need help with? (optional)",
    "describe.send": "Send to support",
    "describe.sent": "Sent to support.",
    "describe.failed": "Not sent: {message}",
    "error.title": "Could not connect to support",
    "error.join_title": "This code did not work",
    "error.retry": "Try again",
    "error.join_again": "Join",
    "error.code_label": "Type the session code again:",
    "error.close_window": "Close",
    "error.server.case_not_found": "There is no open support request with this code. Please check the code and type it again.",
    "error.server.invalid_code": "This is not a session code. A code looks like s12-345-678.",
    "error.server.case_taken": "This code is already in use on another computer. Please ask your expert for a new code.",
    "error.server.too_many_wrong_codes": "Too many wrong codes were typed. Please wait a few minutes, then try again.",
    "error.server.case_closed": "This support request has been closed.",
    "error.server.case_expired": "This support request has expired.",
    "error.server.module_not_found": "This support program is not registered with {company}'s support server. Please ask {company} for a new one.",
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
    "explain.in_progress": "{expert} bearbeitet Ihre Anfrage.",
    "explain.in_progress_unknown": "Ein Experte bearbeitet Ihre Anfrage.",
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
    "words.waiting": "Warten auf einen Experten",
    "words.waiting.explain": "Ihre Anfrage ist eingegangen. Ein Experte verbindet sich in Kürze mit Ihnen. Bitte lassen Sie dieses Fenster geöffnet.",
    "words.joined": "Warten auf Ihren Experten",
    "words.joined.explain": "Sie sind verbunden. Ihr Experte ist gleich für Sie da. Bitte lassen Sie dieses Fenster geöffnet.",
    "words.connecting": "{expert} verbindet sich",
    "words.connecting.explain": "{expert} wird Sie um Erlaubnis bitten, Ihren Bildschirm zu sehen.",
    "words.helping": "{expert} hilft Ihnen",
    "words.helping.explain": "Ihr Bildschirm wird nicht geteilt. Unten können Sie {expert} schreiben.",
    "words.closed": "Ihre Anfrage ist geschlossen",
    "words.closed.explain": "Sie können dieses Fenster schließen.",
    "words.expired": "Ihre Anfrage ist abgelaufen",
    "words.expired.explain": "Bitte fordern Sie erneut Support an, falls Sie noch Hilfe brauchen.",
    "close.title": "Fenster schließen?",
    "close.question": "Ihre Anfrage bleibt offen, damit {company} Ihnen weiter helfen kann: Das Support-Programm läuft im Infobereich neben der Uhr weiter.",
    "close.keep": "Anfrage offen lassen",
    "close.close": "Meine Anfrage schließen",
    "close.cancel": "Abbrechen",
    "close_request.title": "Anfrage schließen?",
    "close_request.question": "{expert} hilft Ihnen gerade. Wenn Sie Ihre Anfrage schließen, endet die Sitzung.",
    "describe.label": "Wobei brauchen Sie Hilfe? (freiwillig)",
    "describe.send": "An den Support senden",
    "describe.sent": "An den Support gesendet.",
    "describe.failed": "Nicht gesendet: {message}",
    "error.title": "Keine Verbindung zum Support",
    "error.join_title": "Dieser Code hat nicht funktioniert",
    "error.retry": "Erneut versuchen",
    "error.join_again": "Beitreten",
    "error.code_label": "Geben Sie den Sitzungscode erneut ein:",
    "error.close_window": "Schließen",
    "error.server.case_not_found": "Zu diesem Code gibt es keine offene Support-Anfrage. Bitte prüfen Sie den Code und geben Sie ihn erneut ein.",
    "error.server.invalid_code": "Das ist kein Sitzungscode. Ein Code sieht so aus: s12-345-678.",
    "error.server.case_taken": "Dieser Code wird bereits auf einem anderen Computer verwendet. Bitte fragen Sie Ihren Experten nach einem neuen Code.",
    "error.server.too_many_wrong_codes": "Es wurden zu viele falsche Codes eingegeben. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
    "error.server.case_closed": "Diese Support-Anfrage wurde geschlossen.",
    "error.server.case_expired": "Diese Support-Anfrage ist abgelaufen.",
    "error.server.module_not_found": "Dieses Support-Programm ist beim Support-Server von {company} nicht registriert. Bitte fordern Sie bei {company} ein neues an.",
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


def case_words(lang: str, case: dict[str, Any], waiting_text: str = "",
               sharing: str | None = None) -> tuple[str, str]:
    """What is happening, in plain words: a headline and one sentence under it.

    *waiting_text* is the company's own (branding) text while the customer waits;
    the case's ``waiting_message`` (an expert's, for this case) goes before it.
    *sharing* is ``view`` or ``control`` while the screen is shared, else None.
    """
    status = case.get("status")
    expert = case.get("expert_name") or ""
    if status in ("closed", "expired"):
        return text(lang, f"words.{status}"), text(lang, f"words.{status}.explain")
    if status == "in_progress" or (sharing and expert):
        if sharing:
            key = "session.controlling" if sharing == "control" else "session.viewing"
            return text(lang, key, expert=expert or "?"), ""
        return text(lang, "words.helping", expert=expert or "?"), text(lang, "words.helping.explain",
                                                                       expert=expert or "?")
    if expert:  # Connect pressed, the customer not asked or not answered yet
        return text(lang, "words.connecting", expert=expert), text(lang, "words.connecting.explain",
                                                                   expert=expert)
    own = case.get("can_close", True)  # an SOS of the customer's, or an expert-made case joined
    explain = (case.get("waiting_message") or waiting_text
               or text(lang, "words.waiting.explain" if own else "words.joined.explain"))
    return text(lang, "words.waiting" if own else "words.joined"), explain


def server_error_words(lang: str, code: str, company: str) -> str | None:
    """The customer's words for a refusal from the server by its stable *code*, if there are any."""
    key = f"error.server.{code}"
    return text(lang, key, company=company) if key in EN else None
