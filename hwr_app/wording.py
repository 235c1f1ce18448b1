"""Plain words for what the window says: counts, times, model names, accuracy, a fine-tune's result.

Pure functions over plain values (no Qt, no torch), so every sentence the user reads about a
fine-tune is built in one place and tested without a window. It lives beside the window, not in
``model/``, because it is presentation: only the window speaks these sentences (the ``hwr`` command
line prints its own terse lines), and the model core stays free of how the window phrases things.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Iterable, Sequence

GENERAL_ACCURACY = "General accuracy"  # the one name for "accuracy on MNIST's test digits" in the window
GENERAL_ACCURACY_MEANS = ("the share of MNIST's 10,000 test digits, written by other people, that the model "
                          "reads right")
SHIPPED_NAME = "shipped"  # the name of the model that comes with the app


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """Return "1 sample", "2 samples", "1,200 samples"."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def general_accuracy(value: float | None) -> str:
    """Return a general accuracy (0–1) as the window shows it everywhere: "99.6 %", or "—" if unknown."""
    return "—" if value is None else f"{value * 100:.1f} %"


def readable_time(iso: str, zone: tzinfo | None = None) -> str:
    """Return an ISO 8601 time as "30 Nov 2026, 14:05" in local time (or ``zone``); "" if unreadable."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(zone)
    except (OverflowError, ValueError, OSError):  # year 1 at +14:00 lands before year 1
        return ""
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def model_names(models: Iterable[tuple[str, str, bool]], zone: tzinfo | None = None) -> dict[str, str]:
    """Return {model id: readable name} for (id, created ISO time, is shipped) triples.

    The shipped model is "shipped"; a fine-tune is "tuned 30 Nov 14:05", with seconds added when two
    were made in the same minute, and the start of its id when even those agree.
    """
    models = list(models)
    names: dict[str, str] = {}
    for model_id, created, shipped in models:
        if shipped:
            names[model_id] = SHIPPED_NAME
            continue
        try:
            moment = datetime.fromisoformat(created)
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone)
            names[model_id] = f"tuned {moment.day} {moment:%b %H:%M}"
        except (TypeError, ValueError, OverflowError, OSError):  # a date at the calendar's edge names no model
            names[model_id] = f"tuned ({model_id[:6]})"
    for precision in ("%S", "id"):
        seen: dict[str, list[str]] = {}
        for model_id, name in names.items():
            seen.setdefault(name, []).append(model_id)
        clashes = [ids for name, ids in seen.items() if len(ids) > 1 and name != SHIPPED_NAME]
        if not clashes:
            break
        created_of = {model_id: created for model_id, created, _ in models}
        for ids in clashes:
            for model_id in ids:
                if precision == "%S":
                    try:
                        names[model_id] += f":{datetime.fromisoformat(created_of[model_id]):%S}"
                    except (TypeError, ValueError, OverflowError, OSError):
                        names[model_id] += f" ({model_id[:6]})"
                else:
                    names[model_id] += f" ({model_id[:6]})"
    return names


def ordinal(n: int) -> str:
    """Return "1st", "2nd", "3rd", "4th", "11th", "21st"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- a fine-tune's progress bar: the wordings, longest first; the bar shows the first that fits ----

PROGRESS_GETTING_READY = ("Getting ready to learn…", "Getting ready…", "Starting…")
PROGRESS_LEARNING = ("Learning your handwriting… %p%", "Learning… %p%", "%p%")
PROGRESS_CHECKING = ("Checking it on your samples… %p%", "Checking… %p%", "%p%")
PROGRESS_CANCELLING = ("Cancelling…",)


# -- correcting a number ---------------------------------------------------------------------------

def typing_hint(typed: str, restored: bool = False, found: int = 0) -> str:
    """Return the caption while a number is typed (``restored``: the label Undo brought back;
    ``found``: how many digits the drawing was read as)."""
    if restored:
        return f"You had saved it as {typed}: Enter saves it as {typed} again; a digit key starts over."
    if found > 1 and len(typed) != found:
        return (f"Typed {typed}: {plural(len(typed), 'digit')}, {found} found. Enter shows how the drawing splits into "
                f"{len(typed)}; Backspace takes a digit back.")
    return f"Typed {typed}: Enter saves the number, Backspace takes a digit back."


def split_question(number: str) -> str:
    """Return the caption while a new split of the drawing waits for a second Enter."""
    return f"Split into {len(number)} as outlined: Enter saves {number}, Backspace changes it."


def unsure_refusal(options: Sequence[int], position: int, digits: int) -> str:
    """Say why Enter alone did not save: the ``position``-th of ``digits`` digits is unsure between ``options``."""
    choice = " or ".join(str(d) for d in options)
    if digits == 1:
        return f"Not saved: {choice}? Press the digit's key to save it."
    return (f"Not saved: the {ordinal(position)} digit is unsure ({choice}?). Type the number, "
            f"or click that digit's tag and press its key, then Enter.")


def digits_phrase(digits: Sequence[int]) -> str:
    """Return "your 2s", "your 2s and 7s", "your 1s, 2s and 7s", or "your handwriting" for more."""
    if not digits or len(digits) > 3:
        return "your handwriting"
    words = [f"{d}s" for d in digits]
    return "your " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])


@dataclass(frozen=True)
class FinetuneOutcome:
    """What the result text needs to know about one finished fine-tune, as plain values."""

    accepted: bool  # the gate put it forward
    activated: bool  # accepted and now in use (False when the user switched models while it ran)
    sample_count: int  # samples saved when it started
    trained_count: int  # samples it learned from
    test_count: int  # samples each read by a model that had not learned from it (all of them)
    test_right_before: int  # of those, how many the old model read right
    test_right_after: int  # ... and the models that had not seen them
    digits: tuple[int, ...]  # the digits the user corrected, most often first
    general_before: float | None  # general accuracy of the old model (the figure the window shows)
    general_after: float | None  # ... of the new one
    general_allowed_drop: float  # the most general accuracy the gate lets a new model lose (0–1)
    check_size: int = 0  # MNIST test digits the new model's general accuracy was checked on
    new_name: str = ""  # the new model's readable name
    gate_reason: str = ""  # the gate's own words, for the details only
    folds: int = 0  # the groups the samples were split into, each read by a model trained without it
    line_start: float | None = None  # general accuracy of the model the user's fine-tunes started from
    line_gate: str = ""  # "MNIST" or "pen": where the new model fell too far below that model, if it did
    line_pen: tuple[float, float] | None = None  # pen gate accuracy there → the new model's, when line_gate is "pen"
    digit_changes: tuple = ()  # (digit, right before, right after, samples) per digit of the user's, when known
    sample_digits: tuple[int, ...] = ()  # the digits the user's samples are of
    pen_before: float | None = None  # other writers' pen-drawn digits (the pen check) read right by the old model
    pen_after: float | None = None  # ... by the new one
    budget: bool = False  # the evidence on the user's samples was strong, so the line's larger budget applied


def finetune_outcome(result, samples: Sequence, activated: bool, allowed_drop: float,
                     new_name: str = "") -> FinetuneOutcome:
    """Return the outcome of a model.personal.finetune.FinetuneResult on ``samples`` (those it was given).

    Reads from the result: ``accepted``, ``train_count``, ``holdout_count``, ``before`` and ``after``
    (``user_accuracy`` on the held-out samples, ``mnist_accuracy`` on the gate subset), ``reason``,
    ``folds``, ``line_start`` and ``line_exceeded`` (when present),
    and from its checkpoint's info ``mnist_test_accuracy`` (the general accuracy the window shows,
    estimated for a fine-tune) and ``notes["gate_size"]``. From the samples: ``label``, ``predicted``.
    """
    before, after = result.before, result.after
    info = result.checkpoint.info
    gate_change = after.mnist_accuracy - before.mnist_accuracy
    if info.mnist_test_accuracy is not None and info.notes.get("mnist_test_accuracy_is_estimate"):
        # The figure the status bar and Model versions show: the base's, moved by the check's change.
        general_after = info.mnist_test_accuracy
        general_before = general_after - gate_change
    else:
        general_before, general_after = before.mnist_accuracy, after.mnist_accuracy
    corrected = [s.label for s in samples if s.predicted is not None and s.predicted != s.label]
    labels = corrected or [s.label for s in samples]
    digits = tuple(sorted(set(labels), key=lambda d: (-labels.count(d), d)))
    count = result.holdout_count
    starts, exceeded = getattr(result, "line_start", None) or {}, getattr(result, "line_exceeded", None) or ()
    line_start = (None if starts.get("MNIST") is None or general_after is None
                  else general_after + (starts["MNIST"] - after.mnist_accuracy))
    line_gate = "MNIST" if "MNIST" in exceeded else ("pen" if "pen" in exceeded else "")
    return FinetuneOutcome(
        accepted=result.accepted, activated=activated, sample_count=len(samples),
        trained_count=result.train_count, test_count=count,
        test_right_before=round(before.user_accuracy * count), test_right_after=round(after.user_accuracy * count),
        digits=digits, general_before=general_before, general_after=general_after,
        general_allowed_drop=allowed_drop, check_size=int(info.notes.get("gate_size", 0)), new_name=new_name,
        gate_reason=result.reason, folds=int(getattr(result, "folds", 0) or 0), line_start=line_start,
        line_gate=line_gate, line_pen=(starts["pen"], after.pen_accuracy) if line_gate == "pen" else None,
        digit_changes=_per_digit(result), sample_digits=tuple(sorted({s.label for s in samples})),
        pen_before=before.pen_accuracy, pen_after=after.pen_accuracy, budget=bool(getattr(result, "strong", False)))


def _per_digit(result) -> tuple:
    """Return (digit, right before, right after, samples) per digit of a FinetuneResult's ``per_digit``.

    A result without per-digit figures (one made by an older hwr, or a test's stand-in) gives (), and
    the wording then names no digit.
    """
    table = getattr(result, "per_digit", None) or {}
    return tuple((int(digit), int(before), int(after), int(count))
                 for digit, (before, after, count) in sorted(table.items()))


@dataclass(frozen=True)
class FinetuneReport:
    """A fine-tune's result as the window shows it: a title, one plain paragraph, and details."""

    title: str
    headline: str
    details: str
    summary: str = ""  # a few words for the side panel: the verdict and the figure behind it


def _samples_figures(o: FinetuneOutcome) -> str:
    """Return "13 of your 17 samples right, before 12" (or "..., as before"): what changed, on which drawings."""
    n, before, after = o.test_count, o.test_right_before, o.test_right_after
    if after == before:
        return f"{after} of your {plural(n, 'sample')} right, as before" if n != after else \
            f"all {plural(n, 'sample')} of yours right, as before"
    return f"{after} of your {plural(n, 'sample')} right, before {before}"


def _digit_changes(o: FinetuneOutcome, better: bool) -> str:
    """Return "your 1s (3 → 4 of 4) and 7s (…)" for the digits whose samples it read better (or worse), or ""."""
    changed = [(d, b, a, n) for d, b, a, n in o.digit_changes if (a > b if better else a < b)]
    if not o.digit_changes and len(o.sample_digits) == 1:  # samples of one digit: what changed is on that digit
        total = (o.test_right_before, o.test_right_after)
        return f"your {o.sample_digits[0]}s" if (total[1] > total[0] if better else total[1] < total[0]) else ""
    if not changed or len(changed) > 3:
        return ""
    words = [f"{d}s ({b} → {a} of {n})" for d, b, a, n in changed]
    return "your " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])


def describe_finetune(outcome: FinetuneOutcome) -> FinetuneReport:
    """Return the plain-language result of a fine-tune: the verdict first, the figures in the details.

    Every figure is about the user's own samples, each read by a model that had not learned from it;
    a digit is named only where per-digit figures say that digit changed, and no advice is given that
    the figures contradict (no "save samples it gets wrong" when it gets none wrong).
    """
    o = outcome
    figures = _samples_figures(o)
    improved = o.test_right_after > o.test_right_before
    better_digits = _digit_changes(o, better=True)
    worse_digits = _digit_changes(o, better=False)
    if improved:
        change = f"it reads {figures}" + (f"; better on {better_digits}" if better_digits else "")
    else:  # accepted at equal accuracy means surer answers on the same drawings
        change = f"it reads your samples more surely ({figures})"
    change += f", worse on {worse_digits}" if worse_digits else ""
    general_change = _general_change(o.general_before, o.general_after)
    if o.accepted:
        general_change = _general_cost(o) or general_change
    dropped = (o.general_before is not None and o.general_after is not None
               and o.general_before - o.general_after > max(o.general_allowed_drop, 0.0))
    if o.accepted and o.activated:
        title = "Fine-tune in use"
        headline = _join(f"hwr now uses the fine-tuned model: {change}.", general_change,
                         "Draw a few digits to try it.")
    elif o.accepted:
        title = "Fine-tune done, not in use"
        headline = _join(f"A new model is ready: {change}. You switched models while it was made, so yours "
                         f"stays in use.", general_change, "Choose it in Model versions to use it.")
    elif o.line_gate:  # before the other refusals: saving more samples cannot help here
        title = "Fine-tune not used"
        if o.line_gate == "pen":
            what = "other people's pen-drawn digits"
            numbers = ("" if o.line_pen is None else
                       f"{general_accuracy(o.line_pen[0])} → {general_accuracy(o.line_pen[1])} of them read right; ")
        else:
            what = "other people's digits"
            numbers = ("" if o.line_start is None or o.general_after is None else
                       f"{GENERAL_ACCURACY.lower()} {general_accuracy(o.line_start)} → "
                       f"{general_accuracy(o.general_after)}; ")
        headline = (f"hwr kept its model: the new one would read {what} worse than the model your fine-tunes "
                    f"started from ({numbers}fine-tunes may lose at most {o.general_allowed_drop * 100:.1f} points "
                    f"in all, one after another). To teach hwr further, press Reset to shipped in Model versions "
                    f"and fine-tune again: your samples are kept.")
    elif dropped:
        title = "Fine-tune not used"
        headline = (f"hwr kept its model: the new one would read other people's digits worse "
                    f"({GENERAL_ACCURACY.lower()} {general_accuracy(o.general_before)} → "
                    f"{general_accuracy(o.general_after)}). Save a few more samples and try again.")
    elif improved:  # refused by a rule these figures do not show
        title = "Fine-tune not used"
        headline = (f"hwr kept its model: the new one read {figures}, but did not pass the check: "
                    f"{o.gate_reason}")
    elif o.test_right_before == o.test_count:  # nothing to put right: say so, rather than ask for "wrong" digits
        title = "Fine-tune not used"
        headline = (f"hwr kept its model: it already reads all {plural(o.test_count, 'sample')} of yours right, "
                    f"and the new one was no surer. Fine-tuning helps once you save drawings that hwr reads "
                    f"wrong.")
    else:
        title = "Fine-tune not used"
        wrong = o.test_count - o.test_right_before
        headline = (f"hwr kept its model: the new one was no better on your samples ({figures}). hwr still "
                    f"reads {wrong} of them wrong; save more samples like those and try again.")
    return FinetuneReport(title, headline, _details(o), _summary(o, title, improved, dropped))


def _summary(o: FinetuneOutcome, title: str, improved: bool, dropped: bool) -> str:
    """Return the few words the side panel shows under the Fine-tune button (plain text)."""
    figures = f"{o.test_right_after} of your {o.test_count} samples right"
    if o.accepted:
        return (f"{title}: {figures}, before {o.test_right_before}." if improved else
                f"{title}: surer on your samples, {figures} as before.")
    if o.line_gate or dropped:
        return f"{title}: it would read other people's digits worse."
    if improved:
        return f"{title}: it did not pass the check."
    if o.test_right_before == o.test_count:
        return f"{title}: hwr already reads all {o.test_count} of your samples right."
    return f"{title}: no better on your samples ({figures})."


def _general_cost(o: FinetuneOutcome) -> str:
    """Return the plain sentence for an accepted model that reads other people's digits worse, or "".

    A personal model may read other people's digits a little worse when it reads the user's clearly
    better: that trade is said in the headline, not left in the details.
    """
    costs = []
    if o.general_before is not None and o.general_after is not None and \
            general_accuracy(o.general_after) < general_accuracy(o.general_before):
        costs.append(f"{GENERAL_ACCURACY} {general_accuracy(o.general_before)} → "
                     f"{general_accuracy(o.general_after)}")
    if o.pen_before is not None and o.pen_after is not None and \
            general_accuracy(o.pen_after) < general_accuracy(o.pen_before):
        costs.append(f"other people's pen-drawn digits {general_accuracy(o.pen_before)} → "
                     f"{general_accuracy(o.pen_after)}")
    if not costs:
        return ""
    return (f"In exchange it reads other people's digits a little worse ({'; '.join(costs)}), within what your "
            f"fine-tunes may spend in all ({o.general_allowed_drop * 100:.1f} points of {GENERAL_ACCURACY.lower()}).")


def _join(*sentences: str) -> str:
    return " ".join(sentence for sentence in sentences if sentence)


def _general_change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    if general_accuracy(before) == general_accuracy(after):
        return f"{GENERAL_ACCURACY} unchanged ({general_accuracy(after)})."
    return f"{GENERAL_ACCURACY} {general_accuracy(before)} → {general_accuracy(after)}."


def _details(o: FinetuneOutcome) -> str:
    learned = "all of them" if o.trained_count == o.sample_count else f"{o.trained_count:,} of them"
    groups = f"{o.folds} groups" if o.folds else "groups"
    lines = [
        f"Your samples: {o.sample_count:,} saved; the new model learned from {learned}. To judge it on handwriting "
        f"it had not seen, your samples were split into {groups}, and each group was read by a model trained the "
        f"same way without it — so each of your samples was read by a model that had never seen it.",
        f"Your samples read right: before {o.test_right_before} of {o.test_count}, after {o.test_right_after} "
        f"of {o.test_count}." + (" With so few samples this is a rough check; it gets surer as you save "
                                  "more." if o.test_count < 5 else ""),
    ]
    if o.digit_changes:
        lines.append("Per digit, your samples read right before → after: " + "; ".join(
            f"{d}s {b} → {a} of {n}" for d, b, a, n in o.digit_changes) + ".")
    if o.pen_before is not None and o.pen_after is not None:
        lines.append(f"Other people's pen-drawn digits (writers hwr never learned from) read right: "
                     f"{general_accuracy(o.pen_before)} before, {general_accuracy(o.pen_after)} after.")
    if o.budget:
        lines.append("The new model read your samples clearly better, so it was held to the budget your whole line "
                     "of fine-tunes has for other people's digits, rather than to the smaller loss allowed when the "
                     "gain on your samples is slight.")
    if o.general_before is not None and o.general_after is not None:
        checked = f"checked on {o.check_size:,} of those digits; " if o.check_size else ""
        lines.append(f"{GENERAL_ACCURACY} is {GENERAL_ACCURACY_MEANS}: {general_accuracy(o.general_before)} "
                     f"before, {general_accuracy(o.general_after)} after ({checked}a new model may lose at most "
                     f"{o.general_allowed_drop * 100:.1f} points, against the model it was made from and against "
                     f"the model your fine-tunes started from"
                     + (f", {general_accuracy(o.line_start)}" if o.line_start is not None else "") + ").")
    if o.new_name:
        where = "in use now" if o.activated else ("listed in Model versions" if o.accepted
                                                   else "listed as not used in Model versions")
        lines.append(f"New model: {o.new_name}, {where}.")
    return "\n\n".join(lines)
