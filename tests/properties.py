"""How many examples a property test draws: every one in the whole suite, a fifth in the fast one.

The whole suite (`python -m pytest`, what CI runs) draws the full count; the fast suite
(`-m "not slow and not browser"`, run while editing) draws a fifth, so it stays under a minute on 2 cores
while every property is still tried on fresh inputs. conftest.py sets QUICK from the marker expression.
"""

from __future__ import annotations

QUICK = False


def examples(full: int) -> int:
    return max(10, full // 5) if QUICK else full
