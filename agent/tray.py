"""The tray icon (pystray): request support, see the code and status, close.

pystray picks its backend when imported and raises (not only ImportError)
without a display, so it is imported here, lazily, and any failure becomes
NoDisplay. Set PYSTRAY_BACKEND=dummy before the import for tests.

On Linux without GTK or AppIndicator (no python3-gi), pystray falls back to its
xorg backend: the icon shows, but it has no menu and takes no clicks. The tray
notices (the backend has no menu) and opens the QuickSupport window for an open
request instead, so the customer still sees the code, the status and Close;
README.md says what the desktop needs for the menu.

One tray per company runs at a time (a lock file): the QuickSupport window starts
one when the customer keeps their request open, unless one runs already.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from typing import Any

from . import __version__, clipboard, tray_xorg
from .app import Agent, Failure, Start, drive, failure, resume
from .errors import NoDisplay
from .filelock import Held, try_lock
from .i18n import case_words, status_name, text
from .icon import tray_image
from .session_watch import RequestWatcher

__all__ = ["Tray", "import_pystray"]

log = logging.getLogger(__name__)

#: pystray's xorg backend writes the title to WM_NAME as Latin-1 (STRING) and raises
#: UnicodeEncodeError for anything else, e.g. the "…" of "retrying…".
_LATIN1_TITLE_BACKENDS = (tray_xorg.BACKEND,)
_PLAIN = str.maketrans({"…": "...", "—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"'})


def import_pystray() -> Any:
    """The pystray module, or NoDisplay when no tray backend works here."""
    try:
        import pystray
    except Exception as exc:  # Xlib raises DisplayNameError, GTK raises ValueError, ...
        raise NoDisplay(f"no tray icon available: {exc}") from None
    return pystray


class Tray:
    """The tray icon and its menu, following the device's case in a thread."""

    def __init__(self, agent: Agent) -> None:
        self.pystray = import_pystray()
        self.agent = agent
        self.lang = agent.lang
        self.case: dict[str, Any] | None = None
        self.notice: str | None = None
        self.stop = threading.Event()
        self.flow = agent.flow(self, stop=self.stop)
        self._worker: threading.Thread | None = None
        self._closer: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        icon_class = self.pystray.Icon
        #: No menu and no clicks (pystray's xorg backend): the window stands in for the menu.
        self.menu_less = not getattr(icon_class, "HAS_MENU", True)
        #: Whether a menu-less icon opens the window for an open request (not when the window
        #: itself just closed and left the request to the tray).
        self.window_at_start = True
        self._window_opened = False
        self._held: Held | None = None
        if icon_class.__module__ == tray_xorg.BACKEND:
            icon_class = tray_xorg.icon_class(icon_class)
        self.icon = icon_class(f"sosdesk-{agent.branding.app_id}", tray_image(agent.branding, None),
                               self._title(), menu=self.build_menu())

    # -- what the customer sees ----------------------------------------------

    @property
    def status(self) -> str | None:
        """The case's status while there is a case."""
        return self.case.get("status") if self.case else None

    @property
    def code(self) -> str | None:
        """The session code while there is a case."""
        return self.case.get("code") if self.case else None

    def status_text(self) -> str:
        """What is happening, in the customer's words, e.g. ``Waiting for an expert``."""
        if self.notice:
            return self.notice
        if self.case is None:
            return status_name(self.lang, None)
        return case_words(self.lang, self.case)[0]

    def tooltip(self) -> str:
        """Company and status, e.g. ``Test IT: Waiting for an expert``."""
        return f"{self.agent.branding.company_name}: {self.status_text()}"

    def _title(self) -> str:
        """The tooltip as the icon's title, in characters the backend can show."""
        title = self.tooltip()
        if self.pystray.Icon.__module__ in _LATIN1_TITLE_BACKENDS:
            title = title.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")
        return title

    def build_menu(self) -> Any:
        """The menu; texts and visibility are callables, so it follows the case."""
        Menu, Item = self.pystray.Menu, self.pystray.MenuItem
        company = self.agent.branding.company_name
        return Menu(
            Item(text(self.lang, "menu.request"), self.request_support, default=True),
            Item(lambda _: (text(self.lang, "menu.code", code=self.code) if self.code
                            else text(self.lang, "menu.no_code")),
                 self.copy_code, enabled=lambda _: bool(self.code)),
            Item(lambda _: text(self.lang, "menu.status", status=self.status_text()), None, enabled=False),
            Item(text(self.lang, "menu.close"), self.close_request,
                 visible=lambda _: bool(self.case and self.case.get("can_close")
                                        and self.case.get("state") == "open")),
            Menu.SEPARATOR,
            Item(text(self.lang, "menu.about", company=company), self.about),
            Item(text(self.lang, "menu.quit"), self.quit),
        )

    # -- menu actions (each runs on pystray's thread: never block it) --------

    def request_support(self, icon: Any = None, item: Any = None) -> None:
        """SOS: get a case (or the open one) and follow it; open the window too."""
        self._follow_in_background(lambda flow: flow.request_support())
        self.open_window()

    def copy_code(self, icon: Any = None, item: Any = None) -> None:
        """Copy the session code to the clipboard."""
        if self.code and clipboard.copy(self.code):
            self._notify(text(self.lang, "code.copied"))

    def close_request(self, icon: Any = None, item: Any = None) -> None:
        """Close the customer's own request, in a thread (a network call of up to 15 s)."""
        if self._closer is not None and self._closer.is_alive():
            return  # a second click while the first close is still on its way
        self._closer = threading.Thread(target=self._close, daemon=True)
        self._closer.start()

    def about(self, icon: Any = None, item: Any = None) -> None:
        """Say whose agent this is."""
        self._notify(text(self.lang, "about", company=self.agent.branding.company_name,
                          version=__version__))

    def quit(self, icon: Any = None, item: Any = None) -> None:
        """Stop following and remove the icon (the case stays open on the server)."""
        self.stop.set()
        self.icon.stop()

    def open_window(self) -> None:
        """The QuickSupport window, as its own process (Tk wants the main thread)."""
        if self.agent.argv is None:
            return
        try:
            # --no-install: this agent's own start did (or skipped) the installation.
            subprocess.Popen([*self.agent.argv, "--no-install", "sos"], close_fds=True)
        except OSError as exc:
            log.warning("could not open the QuickSupport window: %s", exc)

    # -- flow listener -------------------------------------------------------

    def on_case(self, case: dict[str, Any]) -> None:
        """Show the new status: badge, tooltip, menu, notification."""
        if self._watcher is None and self.flow.token and case.get("state") == "open":
            self._watch_session(self.flow.token)
        old = self.status_text() if self.case else None
        self.case = case
        self.notice = None
        self._refresh()
        if self.status_text() != old:  # e.g. "anna is helping you", the company as its title
            self._notify(self.status_text())
        if self.menu_less and self.window_at_start and not self._window_opened and case.get("state") == "open":
            # The icon has no menu here: the window shows the code, the status and Close.
            self._window_opened = True
            self.open_window()

    def on_notice(self, key: str, **values: Any) -> None:
        """Show a notice (server unreachable, back again) in the tooltip and the menu."""
        self.notice = text(self.lang, f"notice.{key}", **values) if key != "reconnected" else None
        self._refresh(unreachable=key in ("unreachable", "rate_limited"))
        self._notify(text(self.lang, f"notice.{key}", **values))

    def _watch_session(self, token: str) -> None:
        """Hear the expert's requests to see the screen (the window answers them)."""
        watcher = RequestWatcher(self.agent.client, token, self.view_requested, self.agent.session_lock,
                                 stop=self.stop)
        self._watcher = threading.Thread(target=watcher.run, name="tray-session-watch", daemon=True)
        self._watcher.start()

    def view_requested(self, expert: str, window_open: bool) -> None:
        """An expert asks to see the screen: say so, and open the window that asks the customer."""
        self._notify(text(self.lang, "session.ask_view", expert=expert or "?",
                          company=self.agent.branding.company_name))
        if not window_open:
            self.open_window()

    # -- running -------------------------------------------------------------

    def run(self) -> int:
        """Show the icon until Quit; follow the stored open case meanwhile."""
        self._held = try_lock(self.agent.tray_lock)
        if self._held is None:
            log.info("the tray of %s runs already", self.agent.branding.company_name)
            return 0
        if self.menu_less:
            log.warning("this desktop shows the tray icon without a menu (no GTK or AppIndicator "
                        "for Python); an open request opens the QuickSupport window instead. "
                        "For the menu install python3-gi and gir1.2-ayatanaappindicator3-0.1.")
        try:
            self.icon.run(setup=self._shown)
        finally:
            self.stop.set()
            self._held.release()
        return 0

    def _shown(self, icon: Any) -> None:
        # Follow only once the icon is visible: pystray drops a title set while it is
        # hidden, so a case resumed before that kept "No open request" as its tooltip.
        try:
            icon.visible = True
        finally:
            self._follow_in_background(resume)

    def _follow_in_background(self, start: Start) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        self._worker = threading.Thread(target=self._follow, args=(start,), daemon=True)
        self._worker.start()

    def _follow(self, start: Start) -> None:
        drive(self.agent, self.flow, start, self._failed)

    def _failed(self, failed: Failure) -> None:
        """Why following stopped, in the tooltip, the menu and a notification."""
        self.notice = failed.message
        self._refresh()
        self._notify(failed.message)

    def _close(self) -> None:
        try:
            self.flow.close_request()  # the follower then reports the case closed
        except Exception as exc:  # AgentError, or a bug: either way a notice, not a dead thread
            failed = failure(exc, self.lang, self.agent.branding.company_name)
            message = text(self.lang, "error.close", message=failed.message)
            self.notice = message
            self._refresh()
            self._notify(message)

    def _refresh(self, unreachable: bool = False) -> None:
        self.icon.icon = tray_image(self.agent.branding, "unreachable" if unreachable else self.status)
        self.icon.title = self._title()
        try:
            self.icon.update_menu()
        except NotImplementedError:  # the dummy backend (tests)
            pass

    def _notify(self, message: str) -> None:
        if not getattr(self.icon, "HAS_NOTIFICATION", False):
            return
        try:
            self.icon.notify(message, self.agent.branding.company_name)
        except NotImplementedError:  # the dummy backend (tests)
            pass
        except Exception as exc:  # a notification daemon going away must not stop the tray
            log.debug("notification failed: %s", exc)
