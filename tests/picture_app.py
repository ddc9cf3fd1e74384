"""A test window with a known picture and a text field (run as a script on a test display).

Four coloured blocks fill the top of the window (see BLOCKS), a text field sits
below them. Every change of the field's text is printed as ``text <repr>``;
a line ``color R G B`` on stdin repaints the first block, ``quit`` ends it.
The window is placed at the position given as ``X Y`` arguments (default +0+0;
there is no window manager on Xvfb to place it).
"""

from __future__ import annotations

import sys
import threading
import tkinter as tk

WIDTH, HEIGHT = 400, 300
#: (x, y, w, h, colour) of the picture's blocks, in the window's pixels.
BLOCKS = [(0, 0, 200, 100, "#ff0000"), (200, 0, 200, 100, "#00ff00"),
          (0, 100, 200, 100, "#0000ff"), (200, 100, 200, 100, "#ffff00")]
#: Where the text field is (its middle), in the window's pixels.
FIELD_AT = (200, 250)


def main() -> None:
    root = tk.Tk()
    root.title("sosdesk test picture")
    x, y = (int(v) for v in sys.argv[1:3]) if len(sys.argv) >= 3 else (0, 0)
    root.geometry(f"{WIDTH}x{HEIGHT}+{x}+{y}")
    canvas = tk.Canvas(root, width=WIDTH, height=200, highlightthickness=0, bd=0)
    canvas.place(x=0, y=0)
    items = [canvas.create_rectangle(x, y, x + w, y + h, fill=c, outline=c) for x, y, w, h, c in BLOCKS]
    text = tk.StringVar()
    field = tk.Entry(root, textvariable=text, font=("TkFixedFont", 14))
    field.place(x=20, y=230, width=360, height=40)
    text.trace_add("write", lambda *_: print("text " + repr(text.get()), flush=True))

    def read_stdin() -> None:
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["color"]:
                colour = "#%02x%02x%02x" % tuple(int(v) for v in words[1:4])
                root.after(0, lambda c=colour: canvas.itemconfigure(items[0], fill=c, outline=c))
            elif words[:1] == ["quit"]:
                break
        root.after(0, root.destroy)

    threading.Thread(target=read_stdin, daemon=True).start()
    root.after(200, lambda: print("shown", flush=True))
    root.mainloop()


if __name__ == "__main__":
    main()
