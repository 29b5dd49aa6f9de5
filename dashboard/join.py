"""The join code: the address students type (or scan) to watch the instructor's run.

segno draws the QR code: pure Python, no dependencies, a few kB, maintained, and it writes PNG itself
(qrcode needs Pillow for PNG and pulls more; a hand-written encoder is not worth owning).
"""

from __future__ import annotations

import io
import socket


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, from its own name (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos if not info[4][0].startswith("127.")})


def viewers_address(server_address: str | None, port: int) -> tuple[str, str]:
    """(the address students open, a note when they cannot reach it) for a server bound to
    `server_address` (Streamlit's server.address) on `port`."""
    host = (server_address or "").strip()
    if host in ("", "127.0.0.1", "localhost", "::1"):
        return (f"http://localhost:{port}/", "This server listens on this machine only: start it with "
                "`--server.address 0.0.0.0` so students on the network can join.")
    if host in ("0.0.0.0", "::"):
        found = lan_addresses()
        if not found:
            return f"http://<this machine's address>:{port}/", "No network address found: check the connection."
        return f"http://{found[0]}:{port}/", ""
    return f"http://{host}:{port}/", ""


def qr_png(text: str, scale: int = 8) -> bytes:
    import segno
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
