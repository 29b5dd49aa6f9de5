"""The join code students scan: the right address for how the server listens, and a QR code that says it."""

from __future__ import annotations

import io

from PIL import Image

from dashboard import join


def test_a_local_only_server_says_students_cannot_reach_it() -> None:
    address, note = join.viewers_address("127.0.0.1", 8501)
    assert address == "http://localhost:8501/" and "0.0.0.0" in note


def test_a_server_on_every_interface_gives_its_lan_address(monkeypatch) -> None:
    monkeypatch.setattr(join, "lan_addresses", lambda: ["192.0.2.7"])
    assert join.viewers_address("0.0.0.0", 8600) == ("http://192.0.2.7:8600/", "")
    monkeypatch.setattr(join, "lan_addresses", lambda: [])
    address, note = join.viewers_address("0.0.0.0", 8600)
    assert "<this machine" in address and note
    assert join.viewers_address("10.1.2.3", 80) == ("http://10.1.2.3:80/", "")


def test_lan_addresses_never_include_loopback() -> None:
    assert all(not a.startswith("127.") for a in join.lan_addresses())


def test_the_qr_code_is_a_png_that_encodes_the_address() -> None:
    data = join.qr_png("http://192.0.2.7:8501/", scale=4)
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG"
    # version 2 (25 modules) + 2 modules of border on each side, 4 px each: (25 + 4) * 4
    assert picture.size == (116, 116)
    longer = Image.open(io.BytesIO(join.qr_png("http://192.0.2.7:8501/?" + "x" * 100, scale=4)))
    assert longer.size[0] > picture.size[0]  # more text, more modules
