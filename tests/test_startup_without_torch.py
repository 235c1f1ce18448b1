"""Issue 22: the window reads digits without torch — with the shipped model or a fine-tuned one in charge —
until the first fine-tune, which loads it on its own thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from model.assets import default_weights_path
from model.storage.checkpoint import ModelInfo
from model.storage.versions import ModelRegistry
from tests.qt_helpers import standard_digit
from tests.versions_helpers import fine_tuned_version

REPO = Path(__file__).resolve().parent.parent

# Started in a fresh interpreter: this test process has torch loaded already.
PROBE = """
import json, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from hwr_app.main_window import MainWindow
from hwr_app.startup import AppPaths
folder = Path(sys.argv[1])
window = MainWindow(AppPaths(folder, folder), download_mnist=False)
window.show()
deadline = time.monotonic() + 60
def wait(condition):
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        app.processEvents()
        time.sleep(0.005)
wait(window.is_ready)
window.recognizer.request(json.loads(sys.argv[2]))
wait(lambda: window.recognizer.is_idle() and window.prediction is not None)
print(json.dumps({"torch": "torch" in sys.modules, "digit": window.prediction.digit,
                  "version": window.checkpoint.info.version, "label": window.model_label.text(),
                  "versions": len(window.registry.versions())}))
window.close()
"""


def start_window(folder: Path, strokes) -> dict:
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    completed = subprocess.run([sys.executable, "-c", PROBE, str(folder), json.dumps(strokes)], cwd=REPO,
                               env=environment, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_window_reads_with_the_shipped_model_without_loading_torch(tmp_path):
    seen = start_window(tmp_path, standard_digit(3, seed=1))
    assert seen["digit"] == 3 and seen["torch"] is False
    assert "shipped" in seen["label"]


def test_the_window_reads_with_a_fine_tuned_model_in_charge_without_loading_torch(tmp_path):
    registry = ModelRegistry(tmp_path / "models", default_weights_path())
    entry = fine_tuned_version(registry, factor=1.001, info=ModelInfo(mnist_test_accuracy=0.99))
    registry.activate(entry.version)
    seen = start_window(tmp_path, standard_digit(7, seed=2))
    assert seen["version"] == entry.version and seen["versions"] == 2
    assert seen["digit"] == 7 and seen["torch"] is False
