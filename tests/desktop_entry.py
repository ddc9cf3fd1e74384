"""Reading desktop entries as a launcher does (Desktop Entry Specification 1.4)."""

from __future__ import annotations

from pathlib import Path


def parse_exec(value: str) -> list[str]:
    """Split an Exec value the way the Desktop Entry Specification says a launcher must."""
    # 1. the general string escapes, 2. the quoting rules, 3. field codes.
    unescaped, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[value[i + 1]])
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text = "".join(unescaped)
    args: list[str] = []
    current: list[str] | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            if current is not None:
                args.append("".join(current))
                current = None
        elif c == '"':
            current = current if current is not None else []
            i += 1
            while text[i] != '"':
                if text[i] == "\\":
                    assert text[i + 1] in '"`$\\', f"bad escape in {text!r}"
                    i += 1
                current.append(text[i])
                i += 1
        else:
            assert c not in "\t\n\"'\\><~|&;$*?#()`", f"unquoted reserved {c!r} in {text!r}"
            current = (current or []) + [c]
        i += 1
    if current is not None:
        args.append("".join(current))
    for arg in args:
        assert "%" not in arg.replace("%%", ""), f"field code in {arg!r}"
    return [arg.replace("%%", "%") for arg in args]


def entry_values(path: Path) -> dict[str, str]:
    """The raw key=value pairs of a desktop entry's [Desktop Entry] group."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))
