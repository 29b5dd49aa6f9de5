"""Follow latency: a command-line run writes into the log directory in its own process while the dashboard
follows it (`?dir=NAME`) in headless Chromium at a 1 s refresh; the time from a row's write to its step
being shown on the page, median and p95 (target p95 <= 2 s): of the newest step each page update shows
(what bench/live_view.py measures for the live page), and of every row written (a row written just after a
read waits for the next refresh: this one includes the refresh interval).

A row's write time is the engine's own: the run stamps each flushed row's "time" column (seconds since the
run's start, in info.json) just before its one write to metrics.csv, and the recorded page shows the newest
step with that moment ("logged 14:02:03.412"), as the live page does (bench/live_view.py). A MutationObserver
notes when each new stamp appears in the browser: same machine, same clock. Needs Debian's chromium and
Playwright (as the browser tests do).

    python bench/follow.py [--seconds 60] [--dataset ring]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import parser, table, write_json
from live_view import LOGGED, WATCH, logged_epoch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM_ARGS, CONNECTED, chromium, streamlit_server  # noqa: E402


def write_times(out: Path) -> list[float]:
    """When each row of metrics.csv was written (seconds since the epoch): its run's start plus its time."""
    created = json.loads((out / "info.json").read_text())["created"]
    lines = (out / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("time")
    return [created + float(line.split(",")[column]) for line in lines[1:] if line.count(",") == lines[0].count(",")]


def row_latencies(written: list[float], seen: list[tuple[float, float]]) -> list[float]:
    """For each row written while the page was watched: the wait until the page showed a step at least as
    new (a page update showing a row written at or after it), sorted."""
    out = []
    for t in written:
        if seen and seen[0][1] <= t <= seen[-1][1]:
            out.append(next(at for at, logged in seen if logged >= t - 1e-3) - t)  # stamps are to the ms
    return sorted(out)


def pct(values: list[float], q: float) -> float:
    return values[int(q / 100 * (len(values) - 1))]


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(seconds=60.0)
    p.add_argument("--dataset", default="ring")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "live"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        writer = subprocess.Popen([sys.executable, "-m", "gancore", "train", "--dataset", args.dataset, "--steps",
                                   "0", "--no-progress", "--out", str(out)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            with streamlit_server({"GANCORE_REFRESH": "1", "OMP_NUM_THREADS": "1", "GANCORE_LOGDIR": tmp}) as url, \
                    sync_playwright() as pw:
                while not (out / "metrics.csv").is_file() or (out / "metrics.csv").stat().st_size == 0:
                    assert writer.poll() is None, writer.stderr.read()
                    time.sleep(0.2)
                browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(90_000)
                page.goto(f"{url}/?dir=live")
                page.wait_for_selector(CONNECTED)
                page.wait_for_selector(LOGGED)
                time.sleep(3)  # the first draws of every chart
                page.evaluate(WATCH, LOGGED)
                time.sleep(args.seconds)
                seen = [(at, logged_epoch(text)) for at, text in page.evaluate("window.__seen") if "logged" in text]
                browser.close()
        finally:
            writer.send_signal(signal.SIGINT)  # the command pauses, writes its summary and exits
            writer.wait(120)
        written = write_times(out)
    shown = sorted(at - logged for at, logged in seen)
    every_row = row_latencies(written, seen)
    rows = [["newest step shown: written -> shown, median", f"{statistics.median(shown):.2f} s", ""],
            [f"  p95 ({len(shown)} page updates in {args.seconds:g} s)", f"{pct(shown, 95):.2f} s", "<= 2 s"],
            ["every row: written -> its step or a later one shown, median", f"{statistics.median(every_row):.2f} s",
             ""],
            [f"  p95 ({len(every_row)} rows)", f"{pct(every_row, 95):.2f} s", "<= 2 s"],
            ["  max", f"{every_row[-1]:.2f} s", ""]]
    print(table([f"following a CLI {args.dataset} run (?dir=, 1 s refresh)", "measured", "target"], rows,
                f"Follow latency over {args.seconds:g} s"))
    write_json(args.json, {"shown": shown, "every_row": every_row})


if __name__ == "__main__":
    main()
