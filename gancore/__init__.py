"""gancore: a headless GAN training engine with every objective of a GAN course, live-tunable and measured.

The small public surface:

    from gancore import Config, Run, Evaluator, PRESETS
    run = Run(PRESETS["wgan-gp"].config, hooks=[Evaluator()])
    run.start(); run.set(lr_g=2e-4); snapshot = run.snapshot(); run.stop()

`Config` validates every setting; `Run` trains in its own thread and takes commands between steps;
`Evaluator` adds coverage, distances, pictures and diagnoses to the run's snapshots; `PRESETS` are the
phenomena a class should see. The engine never imports Streamlit.
"""

from .config import Config, ConfigError
from .data import DATASETS, DataError, make_dataset
from .evaluate.evaluator import Evaluator
from .metrics import Event, Snapshot
from .presets import DEFAULT_PRESET, PRESETS
from .run import Run
from .train import Trainer

__all__ = ["Config", "ConfigError", "DATASETS", "DataError", "make_dataset", "Evaluator", "Event", "Snapshot",
           "DEFAULT_PRESET", "PRESETS", "Run", "Trainer"]
