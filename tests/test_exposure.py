"""The dashboard is local unless serving a class is asked for: `streamlit run dashboard/app.py` with the
shipped .streamlit/config.toml listens on the loopback interface only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from browser_support import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_config_binds_to_localhost() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def _listening(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from the kernel's socket tables (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.slow
def test_a_plain_streamlit_run_listens_on_loopback_only(tmp_path) -> None:
    port = free_port()
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
                                    "--server.port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.2)
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, not 00000000 (every interface) nor [::]
    finally:
        process.terminate()
        process.wait(timeout=30)
