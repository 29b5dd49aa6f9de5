"""Property tests at the command line's boundary: any config file, any damaged checkpoint, is either
accepted (the run trains) or refused with status 2 and one line; never a traceback or a lost run."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gancore import checkpoint
from gancore.__main__ import main
from gancore.config import FIELDS, Config, coerce
from gancore.train import Trainer

from properties import examples

# Sizes come from flags (which win over the file), so an accepted example trains in milliseconds.
SIZES = ["--steps", "2", "--width", "8", "--depth", "1", "--latent-dim", "2", "--batch-size", "8",
         "--n-critic", "1", "--g-steps", "1", "--eval-every", "1000", "--device", "cpu", "--no-progress"]
SIZE_FIELDS = {"steps", "width", "depth", "latent_dim", "batch_size", "n_critic", "g_steps", "eval_every",
               "device"}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                max_size=3), max_leaves=8)
SETTING_VALUES = (st.sampled_from([None, True, 0, 1, -1, 3, 0.5, 1e-4, 1e9, "", "2e-4", "none", "dcgan",
                                   "digits", "ring", "wgan-gp", "rmsprop", "uniform", "embedding", "projection"])
                  | JSON)
CONFIG_FILES = JSON | st.dictionaries(st.sampled_from(sorted(set(FIELDS) - SIZE_FIELDS)) | st.text(max_size=6),
                                      SETTING_VALUES, max_size=5)


def _cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def _accepted_or_one_line(code: int, err: str) -> None:
    assert "Traceback" not in err
    assert code == 0 or (code == 2 and err.startswith("gancore: error: ") and err.count("\n") == 1), (code, err)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG_FILES)
def test_any_json_config_file_is_accepted_or_refused_in_one_line(content) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "config.json")
        path.write_text(json.dumps(content))
        code, err = _cli(["train", "--config", str(path), "--out", str(Path(folder, "run")), *SIZES])
        _accepted_or_one_line(code, err)
        if code == 0:  # what was accepted is what the run used
            used = json.loads(Path(folder, "run", "config.json").read_text())
            for name, value in content.items():
                assert used[name] == coerce(name, value) or used[name] != used[name]  # NaN: not equal to itself
        else:
            assert not Path(folder, "run").exists()


def _base() -> dict:
    trainer = Trainer(Config(width=8, depth=1, latent_dim=2, batch_size=8, device="cpu"))
    trainer.train_step()
    return torch.load(io.BytesIO(checkpoint.to_bytes(trainer)), weights_only=True)


BASE = _base()


def _paths(content, prefix=()) -> list[tuple]:
    """Every key path of the checkpoint down to its leaves (tensors, numbers, strings)."""
    paths = []
    items = content.items() if isinstance(content, dict) else enumerate(content) if isinstance(
        content, (list, tuple)) else ()
    for key, value in items:
        paths.append(prefix + (key,))
        paths.extend(_paths(value, prefix + (key,)))
    return paths


REMOVE = object()
VALUES = (st.just(REMOVE) | st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats() | st.text(max_size=4)
          | st.lists(st.integers(), max_size=3) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
          | st.builds(lambda shape, dtype: torch.zeros(shape, dtype=dtype),
                      st.lists(st.integers(0, 3), max_size=3).map(tuple),
                      st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.int64, torch.bool])))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_paths(BASE)), VALUES), min_size=1, max_size=3))
def test_any_damaged_checkpoint_is_accepted_or_refused_in_one_line(changes) -> None:
    content = copy.deepcopy(BASE)
    for path, value in changes:
        target = content
        try:
            for key in path[:-1]:
                target = target[key]
            if value is REMOVE:
                del target[path[-1]]
            else:
                target[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change removed or replaced the parent
            continue
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "c.pt")
        torch.save(content, path)
        code, err = _cli(["train", "--resume", str(path), "--out", str(Path(folder, "run")), *SIZES[2:],
                          "--steps", "3"])
        _accepted_or_one_line(code, err)
        assert code == 2 or Path(folder, "run", "summary.json").exists()
