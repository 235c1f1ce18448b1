"""Whether a fine-tune can run on the samples saved so far, and if not, exactly what is missing.

The rule is at least ``MIN_SAMPLES`` samples, of any digits: the fine-tune's gate reads every sample
with a model trained without it (cross-validated folds), so no digit needs a spare. It is written
once, here: :func:`model.personal.finetune.finetune` asks this function and refuses with its sentence, and the
window's Fine-tune button and sample counter ask it too, so they cannot disagree.
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
    if total >= min_samples:
        return Readiness(True, "", "ready to fine-tune")
    more = min_samples - total
    return Readiness(False, f"Save {more} more sample{'' if more == 1 else 's'} to fine-tune ({total} of {min_samples}).",
                     f"{more} more to fine-tune")
