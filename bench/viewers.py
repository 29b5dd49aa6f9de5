"""What a class costs the server: 1, 2, 4 and 8 student pages (headless Chromium, each its own browser
context, i.e. its own Streamlit session) watching one featured run in classroom mode at the default 1 s
refresh.

For each count: training steps/s (from the engine's clock on the page, as live_view.py reads it), the CPU
seconds per second of the server process outside the training thread (per-thread CPU from /proc, so the
browsers' own CPU is not counted; the training thread is the one that burns CPU while no page is open),
the training thread's CPU share, and the bytes sent per refresh to the first page (the only one behind
a TCP proxy: the proxy serves one connection at a time). Fitted per viewer and extrapolated to 30 and 100. The browsers run on the same 2 cores and take
CPU from training: steps per second of the training thread's own CPU (steps/s / its CPU share) takes that
out of the comparison.

    python bench/viewers.py [--seconds 12] [--counts 1 2 4 8]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from common import parser, table, write_json
from live_view import Proxy, reading

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import CHART, CHROMIUM_ARGS, CONNECTED, chromium, streamlit_server  # noqa: E402

KEY = "bench-key"
# Every student's page is in front of its student: without these, Chromium throttles the timers of the
# pages that are not the focused one, and only one page would really refresh every second.
UNTHROTTLED = ["--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
               "--disable-renderer-backgrounding"]
TICKS = os.sysconf("SC_CLK_TCK")


def server_pid(port: int) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return int(pid)
    raise RuntimeError("streamlit server process not found")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def window(pid: int, page, proxy: Proxy, seconds: float) -> dict[str, float]:
    cpu0, bytes0, (step0, t0), wall0 = thread_cpu(pid), proxy.down, reading(page), time.monotonic()
    time.sleep(seconds)
    cpu1, bytes1, (step1, t1), wall1 = thread_cpu(pid), proxy.down, reading(page), time.monotonic()
    per_thread = {tid: cpu1[tid] - cpu0.get(tid, 0.0) for tid in cpu1}
    return {"per_thread": per_thread, "wall": wall1 - wall0, "bytes": bytes1 - bytes0,
            "steps_per_s": (step1 - step0) / (t1 - t0) if t1 > t0 else float("nan")}


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(seconds=12.0)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8])
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    env = {"GANCORE_CLASSROOM": "1", "GANCORE_INSTRUCTOR_KEY": KEY, "GANCORE_REFRESH": "1", "GANCORE_GRACE": "3600",
           "OMP_NUM_THREADS": "1"}
    rows, results = [], {}
    with streamlit_server(env) as url, sync_playwright() as pw:
        port = int(url.rsplit(":", 1)[1])
        pid, proxy = server_pid(port), Proxy(port)
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS + UNTHROTTLED)
        teacher = browser.new_page(viewport={"width": 1600, "height": 1000})
        teacher.goto(f"{url}/?key={KEY}&preset=mode-hopping&steps=0")
        teacher.wait_for_selector(CHART, timeout=90_000)
        teacher.locator(".st-key-start button").first.click(no_wait_after=True)
        time.sleep(3)
        teacher.context.close()  # training goes on; now nobody watches
        cpu0 = thread_cpu(pid)
        time.sleep(5)
        cpu1 = thread_cpu(pid)
        trainer = max(cpu1, key=lambda tid: cpu1[tid] - cpu0.get(tid, 0.0))
        pages = []
        for n in args.counts:
            while len(pages) < n:
                context = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(90_000)
                page.goto(f"http://127.0.0.1:{proxy.port}/" if not pages else f"{url}/")  # one page is counted
                page.wait_for_selector(CONNECTED)
                page.wait_for_selector(".st-key-logged-at")
                pages.append(page)
            time.sleep(3)  # every page past its first full draw
            w = window(pid, pages[0], proxy, args.seconds)
            train_cpu = w["per_thread"].get(trainer, 0.0) / w["wall"]
            other = sum(v for tid, v in w["per_thread"].items() if tid != trainer) / w["wall"]
            refreshes = n * w["wall"]  # one refresh per page per second
            results[n] = {"steps_per_s": w["steps_per_s"], "server_cpu_per_s": other, "train_cpu_share": train_cpu,
                          "ms_per_viewer_refresh": 1000 * other / refreshes, "kb_per_refresh": w["bytes"] / w["wall"] / 1e3,
                          "steps_per_train_cpu_s": w["steps_per_s"] / train_cpu if train_cpu else float("nan")}
        browser.close()
    counts = np.array(sorted(results), float)
    slope, intercept = np.polyfit(counts, [results[n]["server_cpu_per_s"] for n in sorted(results)], 1)
    for n in sorted(results):
        r = results[n]
        rows.append([str(n), f"{r['steps_per_s']:.0f}", f"{r['steps_per_train_cpu_s']:.0f}", f"{r['train_cpu_share']:.2f}",
                     f"{r['server_cpu_per_s']:.3f}", f"{r['ms_per_viewer_refresh']:.1f}", f"{r['kb_per_refresh']:.0f}"])
    first, last = results[min(results)], results[max(results)]
    print(table(["viewers", "steps/s", "steps per train-CPU s", "train CPU share", "server CPU s/s (not training)",
                 "ms per viewer refresh", "kB per refresh"], rows,
                f"Viewers of one featured run (classroom mode, 1 s refresh), {args.seconds:g} s windows"))
    print(f"\nfit: {1000 * slope:.1f} ms of server CPU per viewer per second (+{intercept:.3f} s/s base): "
          f"30 viewers {intercept + 30 * slope:.2f}, 100 viewers {intercept + 100 * slope:.2f} of a core")
    print(f"steps per second of training-thread CPU, {max(results)} viewers vs {min(results)}: "
          f"{last['steps_per_train_cpu_s'] / first['steps_per_train_cpu_s']:.2f}")
    write_json(args.json, {"results": results, "per_viewer_ms": 1000 * slope, "base": intercept})


if __name__ == "__main__":
    main()
