"""Who may control a run, decided on the server for every command (never by which widgets are drawn).

Two modes:
- Outside classroom mode every visitor gets a run of their own and controls it through a secret control
  key in their address (`?run=TOKEN&ctl=KEY`); a "watch" link (`?run=TOKEN` alone) is read-only.
- In classroom mode (`GANCORE_CLASSROOM=1`, or `-- --classroom` on the streamlit command line) the session
  whose address holds the instructor key (`?key=...`, like Jupyter's token; `GANCORE_INSTRUCTOR_KEY` or a
  random one per start, printed in the server's log) controls every run; everyone else watches the
  instructor's featured run, and may make a copy of their own where the server has a free training slot.
A viewer's command is refused here, with a message, whatever the page drew.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from dataclasses import dataclass

from gancore.run import Run

from .runs import Entry

VIEWER_REFUSAL = ("You are watching this run: only its owner (or, in a class, the instructor) can change it. "
                  "Make your own copy to experiment.")


def classroom() -> bool:
    return os.environ.get("GANCORE_CLASSROOM", "").strip().lower() in ("1", "true", "yes", "on") or \
        "--classroom" in sys.argv


INSTRUCTOR_KEY = os.environ.get("GANCORE_INSTRUCTOR_KEY") or secrets.token_urlsafe(12)


def announce(port: int) -> None:
    """Print the instructor's link in the server's log, once per server start (this module loads once)."""
    if classroom():
        print(f"gancore classroom mode. Instructor link (keep it to yourself): "
              f"http://localhost:{port}/?key={INSTRUCTOR_KEY}", flush=True)


class Refused(PermissionError):
    """A session tried to control a run it only watches."""


def same(secret: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a secret from a URL with the server's."""
    return bool(secret) and bool(expected) and hmac.compare_digest(str(secret), str(expected))


def is_instructor(params: dict[str, str]) -> bool:
    return classroom() and same(params.get("key"), INSTRUCTOR_KEY)


@dataclass(frozen=True)
class Binding:
    """A session's hold on one run: which run, and whether this session may send it commands."""

    entry: Entry
    role: str  # "instructor", "owner" (made it, or holds its control key) or "viewer"

    @property
    def may_control(self) -> bool:
        return self.role != "viewer"

    def control(self) -> Run:
        """The run, for sending a command; Refused for a viewer."""
        if not self.may_control:
            raise Refused(VIEWER_REFUSAL)
        return self.entry.run


def bind(entry: Entry, params: dict[str, str], *, created: bool = False) -> Binding:
    """The role of a session with URL `params` on `entry` (`created`: this session just made it)."""
    if is_instructor(params):
        return Binding(entry, "instructor")
    if created or same(params.get("ctl"), entry.control_key):
        return Binding(entry, "owner")
    return Binding(entry, "viewer")


def sweep_refusal(binding: Binding) -> str | None:
    """Why this session may not launch a sweep, or None when it may. A sweep takes training slots from
    everyone: in a class only the instructor launches one; elsewhere the owner of the page's run, never a
    watcher."""
    if binding.role == "instructor" or (binding.role == "owner" and not classroom()):
        return None
    if classroom():
        return "Only the instructor can launch a sweep in a class. Its map opens for everyone once it is running."
    return ("You are watching this run, so you cannot launch a sweep here: open the dashboard without this link "
            "for a page of your own.")
