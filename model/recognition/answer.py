"""The answer for one digit: the digit, how sure, the runners-up; shared by single digits and numbers."""

from __future__ import annotations

import numpy as np


class UnusableOutputError(ValueError):
    """The network's answer holds NaN or infinite values, so there is no probability to show."""


class DigitAnswer:
    """The digit, confidence and runners-up of anything with ten ``probabilities``."""

    probabilities: np.ndarray

    @property
    def digit(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    def top(self, count: int = 3) -> list[tuple[int, float]]:
        """Return the ``count`` most likely (digit, probability) pairs, most likely first."""
        order = np.argsort(self.probabilities)[::-1][:count]
        return [(int(d), float(self.probabilities[d])) for d in order]
