"""The window's side panel (the answer, the "Save as" digit buttons, the fine-tune controls) and the
tools row under the canvas (Clear, Undo, Redo, the pen's width).

Every line that changes while the app is used (the saved-sample line, the sample counter, the
fine-tune progress) has its room reserved, so nothing moves and the window never changes size.
In small windows the panel compacts (no browse buttons, no eye caption); in large ones it and the
model's eye grow. ``panel_width`` and ``eye_side`` are the sizing rules, pure and tested.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QSlider, QStackedWidget, QVBoxLayout, QWidget)

from hwr_app.widgets import FittingProgressBar, action_button

MIN_PANEL_WIDTH = 200
MAX_PANEL_WIDTH = 560
PANEL_SHARE = 0.34  # of the window's width
COMPACT_BELOW = QSize(720, 600)  # windows narrower or lower than this get the compact panel
RESULT_LINES = 3  # room reserved for the fine-tune's result in the panel
BARS_FROM_HEIGHT = 480  # windows lower than this show no probability bars (no room for ten readable rows)


def panel_width(window_width: int) -> int:
    """Return the panel width the window asks for: a third of the window, within 200–560 pixels."""
    return max(MIN_PANEL_WIDTH, min(MAX_PANEL_WIDTH, round(window_width * PANEL_SHARE)))


def eye_side(panel: int, window_height: int) -> int:
    """Return the model's eye side: about 40 % of the panel, a fifth of the height, in whole 28-pixel steps."""
    wanted = min(panel * 0.4, window_height * 0.2)
    return max(56, min(252, int(wanted) // 28 * 28))


def is_compact(width: int, height: int) -> bool:
    """Return True for windows that get the compact panel."""
    return width < COMPACT_BELOW.width() or height < COMPACT_BELOW.height()


class ToolsRow:
    """The row under the canvas: Clear, Undo and Redo buttons and the pen's width (a layout, no widget of its own)."""

    def __init__(self, clear: QAction, undo: QAction, redo: QAction, pen_width: float) -> None:
        self.clear_button = action_button("Clear", "clearButton", clear)
        self.undo_button = action_button("Undo", "undoButton", undo)
        self.redo_button = action_button("Redo", "redoButton", redo)
        self.pen_width = QSlider(Qt.Orientation.Horizontal)
        self.pen_width.setObjectName("penWidth")
        self.pen_width.setAccessibleName("Pen width")
        self.pen_width.setToolTip("Width of the pen on screen (the model's view does not depend on it)")
        self.pen_width.setRange(4, 48)
        self.pen_width.setValue(int(pen_width))
        self.pen_width.setMinimumWidth(40)
        self.pen_width.setMaximumWidth(220)
        self.layout = QHBoxLayout()
        self.layout.addWidget(self.clear_button)
        self.layout.addWidget(self.undo_button)
        self.layout.addWidget(self.redo_button)
        self.layout.addSpacing(12)
        pen_label = QLabel("Pen:")
        pen_label.setBuddy(self.pen_width)
        self.layout.addWidget(pen_label)
        self.layout.addWidget(self.pen_width, 1)
        self.layout.addStretch(0)


class FirstRunHint(QFrame):
    """Three steps for a newcomer, shown where the answer goes while nothing is drawn; "Got it" hides it."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunHint")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)  # its text's height, no more
        self.setAccessibleName("Getting started")
        title = QLabel("<b>Getting started</b>")
        text = QLabel("<ol style='margin-left:-24px; margin-top:2px'><li>Draw a digit.</li>"
                      "<li>Wrong answer? Press the right digit key.</li>"
                      "<li>After 10 samples, press Fine-tune.</li></ol>")
        text.setObjectName("firstRunText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.got_it = QPushButton("Got it")
        self.got_it.setObjectName("dismissHintButton")
        self.got_it.setToolTip("Hide these steps for good (Help ▸ Getting started shows them again)")
        self.got_it.setAccessibleName("Got it")
        self.got_it.clicked.connect(self.dismissed)
        self.got_it.setFixedWidth(self.got_it.fontMetrics().horizontalAdvance("Got it") + 24)  # room for the title
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.got_it)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(text)


class SidePanel(QWidget):
    """The panel beside the canvas; it lays out widgets and actions the window owns."""

    def __init__(self, prediction_view: QWidget, digit_actions: list[QAction], finetune_action: QAction,
                 samples_action: QAction, models_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._preferred_width = MIN_PANEL_WIDTH
        self.prediction_view = prediction_view
        self.hint = FirstRunHint()
        self.answer_stack = QStackedWidget()
        self.answer_stack.addWidget(prediction_view)
        # The steps keep the height of their text, at the top: in a tall window no box of blank space.
        self.hint_holder = QWidget()
        holder = QVBoxLayout(self.hint_holder)
        holder.setContentsMargins(0, 0, 0, 0)
        holder.addWidget(self.hint)
        holder.addStretch(1)
        self.answer_stack.addWidget(self.hint_holder)

        save_box = QGroupBox("Save as (keys 0–9)")
        save_box.setObjectName("saveAsBox")
        save_box.setToolTip("Say which digit you drew, whether the answer was right or wrong: the drawing is "
                            "kept as a sample and teaches hwr your handwriting")
        grid = QGridLayout(save_box)
        grid.setSpacing(4)
        grid.setContentsMargins(6, 4, 6, 4)
        self.label_buttons = []
        for digit, action in enumerate(digit_actions):
            button = action_button(str(digit), f"labelButton{digit}", action)
            button.setMinimumWidth(30)
            grid.addWidget(button, digit // 5, digit % 5)
            self.label_buttons.append(button)
        self.saved_line = QLabel(" ")  # "Saved as 3 · Undo"; a blank line keeps its room
        self.saved_line.setObjectName("savedLine")
        self.saved_line.setTextFormat(Qt.TextFormat.RichText)
        self.saved_line.setMinimumHeight(self.saved_line.fontMetrics().height())
        grid.addWidget(self.saved_line, 2, 0, 1, 5)

        tune_box = QGroupBox("Your handwriting")
        tune_box.setObjectName("handwritingBox")
        tune_layout = QVBoxLayout(tune_box)
        tune_layout.setContentsMargins(6, 4, 6, 4)
        tune_layout.setSpacing(4)
        self.samples_label = QLabel("Loading…")
        self.samples_label.setObjectName("samplesLabel")
        self.samples_label.setWordWrap(True)
        self.samples_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.samples_label.setMinimumHeight(2 * self.samples_label.fontMetrics().lineSpacing())  # room for two lines
        self.finetune_button = action_button("Fine-tune", "finetuneButton", finetune_action)
        self.finetune_progress = FittingProgressBar()  # its words shorten to fit one line
        self.finetune_progress.setObjectName("finetuneProgress")
        self.finetune_progress.setAccessibleName("Fine-tune progress")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelFinetuneButton")
        self.cancel_button.setToolTip("Stop fine-tuning; the current model stays in use")
        self.cancel_button.setAccessibleName("Cancel fine-tune")
        # As narrow as its word, so the progress bar beside it has room for words too in small windows.
        self.cancel_button.setFixedWidth(self.cancel_button.fontMetrics().horizontalAdvance("Cancel") + 24)
        running = QWidget()
        running_row = QHBoxLayout(running)
        running_row.setContentsMargins(0, 0, 0, 0)
        running_row.addWidget(self.finetune_progress, 1)
        running_row.addWidget(self.cancel_button)
        # The button and the progress row take turns in one place: starting or ending a fine-tune
        # moves nothing.
        self.finetune_stack = QStackedWidget()
        self.finetune_stack.addWidget(self.finetune_button)
        self.finetune_stack.addWidget(running)
        # The latest fine-tune's result, in words, with its details one click away: never a window over
        # the canvas that the next stroke could land on. Hidden until the first result, then kept; its
        # room is reserved throughout.
        self.result_line = QLabel(" ")
        self.result_line.setObjectName("finetuneResult")
        self.result_line.setAccessibleName("Fine-tune result")
        self.result_line.setTextFormat(Qt.TextFormat.RichText)
        self.result_line.setWordWrap(True)
        self.result_line.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.result_line.setMinimumHeight(RESULT_LINES * self.result_line.fontMetrics().lineSpacing())
        policy = self.result_line.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # its room is kept from the start: the first result moves nothing
        self.result_line.setSizePolicy(policy)
        self.result_line.setVisible(False)
        self.browse_row = QWidget()
        browse = QHBoxLayout(self.browse_row)
        browse.setContentsMargins(0, 0, 0, 0)
        browse.addWidget(action_button("Samples…", "samplesButton", samples_action))
        browse.addWidget(action_button("Versions…", "modelsButton", models_action))
        tune_layout.addWidget(self.samples_label)
        tune_layout.addWidget(self.finetune_stack)
        tune_layout.addWidget(self.result_line)
        tune_layout.addWidget(self.browse_row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.answer_stack, 1)
        layout.addWidget(save_box)
        layout.addWidget(tune_box)

    def show_progress(self, running: bool) -> None:
        """Show the progress row (True) or the Fine-tune button (False) in their shared place."""
        self.finetune_stack.setCurrentIndex(1 if running else 0)
        self.cancel_button.setEnabled(running)

    def show_result(self, html: str, tip: str) -> None:
        """Show a fine-tune's result (rich text with a "details" link) under the Fine-tune button."""
        self.result_line.setText(html)
        self.result_line.setToolTip(tip)
        self.result_line.setVisible(True)

    def show_hint(self, shown: bool) -> None:
        """Show the first-run steps instead of the (empty) answer, or the answer."""
        self.answer_stack.setCurrentWidget(self.hint_holder if shown else self.prediction_view)

    def fit_to(self, width: int, height: int) -> None:
        """Size the panel and the model's eye for a window of ``width`` × ``height``."""
        self._preferred_width = panel_width(width)
        self.prediction_view.model_eye.set_side(eye_side(self._preferred_width, height))
        self.prediction_view.fit_answer(eye_side(self._preferred_width, height))
        compact = is_compact(width, height)
        self.browse_row.setVisible(not compact)  # Samples and Versions stay in the menus
        self.prediction_view.findChild(QLabel, "modelEyeCaption").setVisible(not compact)
        # In the lowest windows the bars give way; the answer's caption still says how sure it is.
        self.prediction_view.probability_view.setVisible(height >= BARS_FROM_HEIGHT)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(self._preferred_width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_PANEL_WIDTH, super().minimumSizeHint().height())
