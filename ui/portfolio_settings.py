"""Settings rows for the portfolio: the base currency of the total and the margin warning level.
Added to the Settings dialog from outside, so the dialog's own rows stay where they are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QDialog, QDoubleSpinBox, QFormLayout

COMMON = ("USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD")


def add_portfolio_settings(dialog: QDialog, settings: dict[str, Any],
                           currencies: list[str]) -> dict[str, Callable[[], Any]]:
    """Insert the rows above the dialog's buttons; returns a getter per setting for saving."""
    base = QComboBox()
    base.setObjectName("BaseCurrency")
    base.addItem("Per currency only", "")
    for cur in dict.fromkeys([*currencies, *COMMON]):
        base.addItem(f"{cur} (converted with the terminal's quotes)", cur)
    index = base.findData(str(settings.get("base_currency") or ""))
    base.setCurrentIndex(max(0, index))
    margin = QDoubleSpinBox()
    margin.setObjectName("MarginWarning")
    margin.setRange(50.0, 1000.0)
    margin.setDecimals(0)
    margin.setSuffix(" % margin level")
    margin.setValue(float(settings.get("margin_warning_level") or 150.0))
    margin.setToolTip("Warn before the broker's margin call (usually at 100 %, stop out at 50 %).")
    form = dialog.layout()
    if isinstance(form, QFormLayout):
        at = max(0, form.rowCount() - 1)  # above the Save/Cancel row
        form.insertRow(at, "Portfolio total in", base)
        form.insertRow(at + 1, "Warn below", margin)
    return {"base_currency": lambda: base.currentData() or "", "margin_warning_level": margin.value}
