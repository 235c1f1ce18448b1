"""Whether a fine-tune can run on the samples saved so far, and if not, exactly what is missing.

This is the rule :func:`model.finetune.finetune` enforces (at least ``MIN_SAMPLES`` samples, and two
of some digit so that ``split_holdout`` can set one aside to check the new model), written once so
that the window's Fine-tune button and the fine-tune itself cannot disagree. A test checks it
against ``split_holdout`` on every pattern of counts it is likely to meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from model.constants import MIN_SAMPLES


@dataclass(frozen=True)
class Readiness:
    """Whether a fine-tune can run now; if not, one sentence saying what to add."""

    ready: bool
    missing: str  # "" when ready; else a sentence saying exactly what to add
    short: str  # the same in a few words, for the sample counter: "7 more to fine-tune"


def finetune_readiness(counts_by_label: Mapping[int, int], min_samples: int = MIN_SAMPLES) -> Readiness:
    """Return whether samples with these counts per digit can be fine-tuned on, and what is missing."""
    total = sum(int(n) for n in counts_by_label.values())
    repeated = any(int(n) >= 2 for n in counts_by_label.values())
    if total >= min_samples and repeated:
        return Readiness(True, "", "ready to fine-tune")
    if total >= min_samples:  # one sample of every digit: none can be set aside to check the new model
        return Readiness(False, "Save a second sample of any digit: one is set aside to check the new model.",
                         "one more of any digit to fine-tune")
    more = min_samples - total
    need = f"Save {more} more sample{'' if more == 1 else 's'} to fine-tune ({total} of {min_samples})"
    if not repeated:
        need += ", with at least two of one digit"
    return Readiness(False, need + ".", f"{more} more to fine-tune")
