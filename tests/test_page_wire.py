"""What the server sends a page, read off Streamlit's websocket by a client that draws nothing
(bench/protocol_viewers.py), against a real `streamlit run` server.

A page once went blank under load after Start then Reset ("Cannot set a node at a delta path"): the
browser's timer asked for a Live-tab tick while the full run was still queued for sending, and the tick
dropped that run's queued fragment deltas but kept a *reference* to a cached sample picture, which then
landed in blocks the browser did not have. So the server never sends a reference (config.toml,
global.minCachedMessageSize): an unchanged chart or picture is sent again instead.
"""

from __future__ import annotations

import sys
import time

from browser_support import ROOT, streamlit_server

sys.path.insert(0, str(ROOT / "bench"))
from protocol_viewers import Room  # noqa: E402


def test_an_unchanged_page_is_sent_again_never_as_references_to_the_browser_cache() -> None:
    with streamlit_server({"GANCORE_REFRESH": "1"}) as url:
        room = Room(url)
        room.add(1)
        viewer = room.viewers[0]
        deadline = time.monotonic() + 60
        while viewer.refreshes < 4 and time.monotonic() < deadline:  # a run not started: nothing changes
            time.sleep(0.2)
        errors = room.close()
    assert viewer.refreshes >= 4, f"the Live tab refreshed {viewer.refreshes} times in 60 s"
    assert errors == []
    assert viewer.references == 0
    assert viewer.bytes > 4 * 20_000  # each tick carried its charts and picture again
