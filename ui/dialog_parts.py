"""Pieces the dialogs share: an error line under a field, a folder field with Browse…, and making a
dialog taller when a message needs more lines (so no text is ever clipped)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


def error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("FieldError")
    label.setWordWrap(True)
    label.setStyleSheet("color:#d93025;")
    label.hide()
    return label


def with_error(field: QWidget, error: QLabel) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(field)
    lay.addWidget(error)
    return box


def folder_row(field: QLineEdit, title: str, mode: str = "folder") -> QWidget:
    """``field`` with a Browse… button (non-blocking file dialog) that picks a folder, an existing file
    (``mode="open"``) or a new file's name (``mode="save"``)."""
    browse = QPushButton("Browse…")
    browse.setToolTip(title)

    def pick() -> None:
        dialog = QFileDialog(field.window(), title, field.text() or "")
        if mode == "save":
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode({"folder": QFileDialog.FileMode.Directory, "open": QFileDialog.FileMode.ExistingFile,
                            "save": QFileDialog.FileMode.AnyFile}[mode])
        dialog.fileSelected.connect(field.setText)
        dialog.open()

    browse.clicked.connect(pick)
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(field, 1)
    lay.addWidget(browse)
    field.browse_button = browse  # type: ignore[attr-defined]  # for tests
    return row


def fit_height(dialog: QDialog) -> None:
    """Grow the dialog (never shrink it) to the height its wrapped messages need at its width."""
    lay = dialog.layout()
    if lay is None:
        return
    lay.activate()
    need = lay.heightForWidth(dialog.width()) if lay.hasHeightForWidth() else lay.sizeHint().height()
    need = max(need, lay.minimumSize().height())
    if need > dialog.height():
        dialog.resize(dialog.width(), need)


class GrowingLabel(QLabel):
    """A wrapped message line that makes its dialog taller when a new text needs more lines."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        window = self.window()
        if isinstance(window, QDialog) and window.isVisible():
            fit_height(window)
