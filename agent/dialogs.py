"""The agent's small windows: a question with buttons over the QuickSupport window, and
the message box for an error that stops the agent before any window could open."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Sequence

from .errors import NoDisplay
from .i18n import text
from .look import declare_dpi_aware

__all__ = ["Ask", "MessageBox", "show_message", "tk_root"]

log = logging.getLogger(__name__)


def tk_root() -> Any:
    """A new Tk root window; NoDisplay where none can be shown (ImportError without tkinter)."""
    import tkinter as tk

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplay("no display")
    declare_dpi_aware()
    try:
        return tk.Tk()
    except tk.TclError as exc:
        raise NoDisplay(f"no display: {exc}") from None


class Ask:
    """A question over *parent* with a button per answer; the first is the suggested one.

    ``on_answer`` gets the chosen answer's key, or None when the question is closed
    (Escape, its window's X). The parent cannot be used meanwhile (a grab).
    """

    def __init__(self, parent: Any, look: Any, title: str, message: str,
                 answers: Sequence[tuple[str, str]], on_answer: Callable[[str | None], None]) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.on_answer = on_answer
        self.window = window = tk.Toplevel(parent)
        window.title(title)
        window.resizable(False, False)
        window.transient(parent)
        window.configure(background="#f6f8fa")
        window.protocol("WM_DELETE_WINDOW", lambda: self.answer(None))
        frame = ttk.Frame(window, padding=look.pad(20, 16))
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=title, style="Headline.TLabel").pack(anchor="w")
        self.message = ttk.Label(frame, text=message, wraplength=look.px(360), justify="left")
        self.message.pack(anchor="w", pady=look.pad(8, 16))
        row = ttk.Frame(frame)
        row.pack(fill="x")
        self.buttons: dict[str, Any] = {}
        for n, (key, label) in enumerate(answers):
            button = ttk.Button(row, text=label, style="Primary.TButton" if n == 0 else "TButton",
                                command=lambda key=key: self.answer(key))
            button.pack(side="left", padx=(0, look.px(8)))
            self.buttons[key] = button
        window.bind("<Escape>", lambda event: self.answer(None))
        window.update_idletasks()
        x = parent.winfo_rootx() + max(0, (parent.winfo_width() - window.winfo_reqwidth()) // 2)
        y = parent.winfo_rooty() + max(0, (parent.winfo_height() - window.winfo_reqheight()) // 3)
        window.geometry(f"+{x}+{y}")
        window.lift()
        self.buttons[answers[0][0]].focus_set()
        try:
            window.grab_set()
        except tk.TclError:  # not viewable yet: the question still stands
            pass

    def answer(self, key: str | None) -> None:
        """Close the question and hand on *key*."""
        self.window.grab_release()
        self.window.destroy()
        self.on_answer(key)


class MessageBox:
    """A small window with a message and an OK button, for an error that stops the agent."""

    def __init__(self, lang: str, message: str) -> None:
        from tkinter import ttk

        from .look import apply_look

        self.root = root = tk_root()
        look = apply_look(root, "#1f6feb")
        root.title(text(lang, "error.cannot_start.title"))
        root.resizable(False, False)
        frame = ttk.Frame(root, padding=look.pad(24, 18))
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=text(lang, "error.cannot_start"), style="Headline.TLabel",
                  justify="left").pack(anchor="w")
        self.message = ttk.Label(frame, text=message[:1].upper() + message[1:], wraplength=look.px(420),
                                 justify="left")
        self.message.pack(anchor="w", pady=look.pad(8, 16))
        self.button = ttk.Button(frame, text=text(lang, "button.ok"), style="Primary.TButton",
                                 command=root.destroy)
        self.button.pack()
        root.bind("<Return>", lambda event: root.destroy())
        root.bind("<Escape>", lambda event: root.destroy())
        root.protocol("WM_DELETE_WINDOW", root.destroy)

    def run(self) -> None:
        """Show the box until the customer closes it (OK, Return, Escape or the window's X)."""
        self.root.lift()
        self.root.focus_force()
        self.root.mainloop()


def show_message(lang: str, message: str) -> bool:
    """Show *message* in a MessageBox until it is closed; False when there is no display."""
    try:
        box = MessageBox(lang, message)
    except (ImportError, NoDisplay) as exc:
        log.debug("no message box: %s", exc)
        return False
    box.run()
    return True
