"""Train the digits classifier that ships as gancore/evaluate/weights/digits_classifier.pt.

Why a script: the shipped weights must be reproducible from the shipped data. Seed, thread count and
deterministic kernels are fixed, so a rerun on the same CPU type writes byte-identical weights (another
CPU family may round differently in the last bits). Prints the accuracy on the 1,000 held-out digits.

    python scripts/train_classifier.py            # rewrite the shipped weights
    python scripts/train_classifier.py --out x.pt # write elsewhere, e.g. to compare
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gancore.data.images import load_image_dataset  # noqa: E402
from gancore.evaluate.classifier import WEIGHTS_DIR, train_classifier  # noqa: E402

SEED, EPOCHS = 0, 30
THREADS = 1  # bit-exact, and immune to the stalls of 2 OpenMP threads on a busy 2-core machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "digits_classifier.pt")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start = time.perf_counter()
    model, acc = train_classifier(load_image_dataset("digits"), epochs=EPOCHS, seed=SEED, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"held-out accuracy {acc:.4f} on 1,000 digits; trained in {time.perf_counter() - start:.1f} s")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest}...)")


if __name__ == "__main__":
    main()
