"""What the agent tells the server about this device (shown to the expert)."""

from __future__ import annotations

import getpass
import platform
import socket

__all__ = ["device_info"]


def device_info() -> dict[str, str]:
    """Hostname, OS and user name of this machine, each at most 255 characters."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (e.g. a container without passwd entry)
        user = ""
    system = platform.system()
    release = platform.release()
    if system == "Darwin":
        system, release = "macOS", platform.mac_ver()[0] or release
    os_name = f"{system} {release}".strip()
    return {"hostname": (socket.gethostname() or platform.node())[:255],
            "os": os_name[:255], "user": user[:255]}
