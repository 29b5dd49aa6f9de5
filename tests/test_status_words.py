"""How the status strip and the banners word a run: why it is not training, what a diagnosis suggests,
classes on digits, the headline numbers, the server clock of the last row."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from dashboard import status
from gancore.evaluate.diagnosis import Diagnosis
from gancore.metrics import Snapshot

from snapshot_support import make_snapshot, run_info




def test_status_banners_say_why_a_run_is_not_training() -> None:
    def at(state: str, reason: str = "") -> Snapshot:
        return Snapshot(0, {}, [], status=state, reason=reason)
    assert status.run_banner(at("running")) is None
    diverged = status.run_banner(at("diverged", "loss_d became non-finite at step 12"))
    assert diverged.level == "error" and "loss_d became non-finite" in diverged.text
    finished = status.run_banner(at("finished", "reached 2000 steps"))
    assert finished.level == "success" and "2000" in finished.text
    assert "Start" in status.run_banner(at("ready")).text


def test_diagnoses_become_banners_with_a_suggestion() -> None:
    d = Diagnosis("mode_collapse", "warning", "Mode collapse: 2 of 8 modes covered for the last 500 steps",
                  "G puts its samples on a few modes.", "try WGAN-GP", 1500)
    [banner] = status.diagnosis_banners([d])
    assert banner.level == "warning" and banner.text.startswith("**Mode collapse: 2 of 8 modes")
    assert "Try:** try WGAN-GP" in banner.text
    assert status.diagnosis_banners([dataclasses.replace(d, severity="error")])[0].level == "error"
    assert status.diagnosis_banners(()) == []


def test_banners_and_headline_speak_of_classes_on_digits() -> None:
    d = Diagnosis("mode_collapse", "warning", "Mode collapse: 2 of 10 modes covered for the last 500 steps",
                  "G maps its noise onto one mode instead of every mode of the data.", "punish the missing modes", 900)
    digits = run_info(dataset="digits")
    [banner] = status.diagnosis_banners([d], digits)
    assert banner.text == ("**Mode collapse: 2 of 10 classes covered for the last 500 steps** — G maps its noise "
                           "onto one class instead of every class of the data.  \n**Try:** punish the missing classes")
    assert "2 of 10 modes covered" in status.diagnosis_banners([d], run_info())[0].text  # a mixture keeps modes
    assert status.diagnosis_banners([d], digits, brief=True)[0].text == (  # the projector's one line
        "**Mode collapse: 2 of 10 classes covered for the last 500 steps**")
    image = make_snapshot(10, evaluation={"modes_total": 10, "modes_covered": 9, "modes_covered_strict": 4},
                          dataset="digits")
    numbers = status.headline(image)
    assert (numbers["hit_label"], numbers["hit"], numbers["coverage"]) == ("Classes hit", "9 / 10", "4 / 10")


def test_headline_numbers() -> None:
    snap = make_snapshot(500, evaluation={"modes_total": 8, "modes_covered": 8, "modes_covered_strict": 3,
                                          "hq_fraction": 0.91, "w1_exact": 0.4567})
    numbers = status.headline(snap)
    assert numbers == {"step": "500", "speed": numbers["speed"], "distance_label": "Exact W1", "distance": "0.457",
                       "hit_label": "Modes hit", "hit": "8 / 8", "coverage_label": "Modes with a fair share",
                       "coverage": "3 / 8", "quality": "91%"}  # the coverage chart's two counts, by its labels
    assert float(numbers["speed"]) == pytest.approx(100, rel=0.05)
    image = make_snapshot(10, evaluation={"modes_total": 10, "modes_covered_strict": 9, "hq_fraction": 0.5,
                                          "w1_exact": math.nan, "fd_features": 12.345}, dataset="digits")
    assert status.headline(image)["distance_label"].startswith("Fréchet")
    assert status.headline(image)["distance"] == "12.3"
    assert status.headline(make_snapshot(0))["distance"] == "–"


def test_logged_at_is_the_server_clock_of_the_last_row() -> None:
    snap = make_snapshot(50)
    assert status.logged_at(snap) == ""  # no origin published: nothing to say
    created = time.mktime((2026, 11, 24, 14, 2, 0, 0, 0, -1))
    times = np.linspace(0, 75.25, 50).astype(np.float32)  # the last row, 75.25 s after the run was created
    stamped = dataclasses.replace(snap, created=created, columns={**snap.columns, "time": times})
    assert status.logged_at(stamped) == "14:03:15.250"  # 14:02:00 + 1 min 15.25 s, on paper
