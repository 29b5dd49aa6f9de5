"""What a run is, told by the run itself: the view reads this and never infers a fact from names or NaNs."""

from __future__ import annotations

from dataclasses import dataclass

# The step granularities a run accepts, and how a control names them.
STEP_KINDS: dict[str, str] = {"iteration": "iteration", "d": "D only", "g": "G only"}


@dataclass(frozen=True)
class RunInfo:
    dataset: str
    data_kind: str  # "1d", "2d" or "image"
    data_shape: tuple[int, ...]  # one sample
    n_modes: int  # mixture components or classes that coverage counts (0: none, e.g. the swiss roll)
    unit: str  # what a mode is called on this data: "mode" or "class"
    class_names: tuple[str, ...]
    objective: str
    probabilities: bool  # D's scores are logits of a probability
    constraint: str  # "weight clipping", "gradient penalty" or ""
    conditional: bool
    step_kinds: tuple[str, ...] = tuple(STEP_KINDS)

    @property
    def is_image(self) -> bool:
        return self.data_kind == "image"

    @property
    def units(self) -> str:
        return self.unit + ("es" if self.unit.endswith("s") else "s")
