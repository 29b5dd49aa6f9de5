"""Viewers that speak Streamlit's own websocket protocol and draw nothing: what the server costs for a class
whose pages really refresh every second.

On this machine's 2 cores, eight Chromium pages redrawing every Plotly chart cannot keep up with a 1 s
refresh (viewers.py measures them drawing every 5-10 s), so they rarely ask for the same snapshot version
and never show the cost of 30 students on their own laptops. A client here does what the page's script
does on the wire: it opens /_stcore/stream, asks for the page (a rerun with the address's query string),
and, once the server sends the fragment's auto-rerun, asks for a rerun of that fragment at its interval,
as the browser's timer does. Like the browser it keeps the hashes of the large messages it received in
the last runs (as many as the server's maxCachedMessageAge) and reports them with each rerun, so the
server could send a reference instead of a message the client already has (this project's config.toml
turns those off; `references` counts any that come). It parses each ForwardMsg only far enough to count
finished fragment runs, their bytes and the step shown.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FRAGMENT_DONE = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@dataclass
class Viewer:
    """What one client saw: fragment runs finished, bytes received, references to its cache, the latest
    step shown."""
    refreshes: int = 0
    bytes: int = 0
    references: int = 0
    step: int = -1
    errors: list[str] = field(default_factory=list)


def _rerun(query: str, page: str, fragment: str = "", cached: Iterable[str] = ()) -> bytes:
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string, state.page_script_hash = query, page
    state.cached_message_hashes.extend(cached)
    if fragment:
        state.fragment_id, state.is_auto_rerun = fragment, True
    return msg.SerializeToString()


async def _watch(url: str, query: str, viewer: Viewer, stop: asyncio.Event) -> None:
    host = url.split("://", 1)[1]
    async with websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], origin=url,
                                  max_size=None, compression=None) as ws:
        await ws.send(_rerun(query, ""))
        page, timer, age = "", None, 0
        cache: dict[str, int] = {}  # hash of a cacheable message -> runs finished since it was last received

        async def tick(fragment: str, interval: float) -> None:
            while not stop.is_set():
                await asyncio.sleep(interval)
                await ws.send(_rerun(query, page, fragment, list(cache)))

        reader = asyncio.ensure_future(ws.recv())
        stopped = asyncio.ensure_future(stop.wait())
        while True:
            done, _ = await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if stopped in done:
                reader.cancel()
                break
            raw = reader.result()
            reader = asyncio.ensure_future(ws.recv())
            viewer.bytes += len(raw)
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            viewer.references += kind == "ref_hash"
            if msg.metadata.cacheable or kind == "ref_hash":
                cache[msg.ref_hash if kind == "ref_hash" else msg.hash] = 0
            if kind == "new_session":
                page, age = msg.new_session.page_script_hash, msg.new_session.config.max_cached_message_age
            elif kind == "auto_rerun" and timer is None:
                timer = asyncio.ensure_future(tick(msg.auto_rerun.fragment_id, msg.auto_rerun.interval))
            elif kind == "script_finished":
                viewer.refreshes += msg.script_finished == FRAGMENT_DONE
                for key in [k for k, cached_for in cache.items() if cached_for >= age]:
                    del cache[key]
                for key in cache:
                    cache[key] += 1
            elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "metric":
                metric = msg.delta.new_element.metric
                if metric.label == "Step" and metric.body.isdigit():
                    viewer.step = int(metric.body)
            elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "exception":
                viewer.errors.append(msg.delta.new_element.exception.message)
        if timer is not None:
            timer.cancel()


class Room:
    """Viewers on their own event loop in a thread of this process (not the server's): add some, read
    their counters, stop them all."""

    def __init__(self, url: str, query: str = "") -> None:
        self.url, self.query, self.viewers = url, query, []
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._tasks: list = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def add(self, n: int) -> None:
        for _ in range(n):
            viewer = Viewer()
            self.viewers.append(viewer)
            self._tasks.append(asyncio.run_coroutine_threadsafe(
                _watch(self.url, self.query, viewer, self._stop), self._loop))
            time.sleep(0.05)  # students arrive one after another, not in one instant

    def totals(self) -> tuple[int, int, int]:
        """(fragment runs finished, bytes received, the first viewer's step) over every viewer so far."""
        return (sum(v.refreshes for v in self.viewers), sum(v.bytes for v in self.viewers),
                self.viewers[0].step if self.viewers else -1)

    def close(self) -> list[str]:
        """Stop every viewer; the errors any of them saw (a page's exception, a dropped connection)."""
        self._loop.call_soon_threadsafe(self._stop.set)
        errors = [e for v in self.viewers for e in v.errors]
        for task in self._tasks:
            try:
                task.result(timeout=10)
            except Exception as e:  # noqa: BLE001 - reported, not raised: the table still prints
                errors.append(f"{type(e).__name__}: {e}")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        return errors
