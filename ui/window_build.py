"""The main window's real panels, built into its shell once the shell has painted ([P] 2): the sidebar, the
lock banner, the focused chart and its statistics, the tabs, the tray, the repaint timer. Importing this
module is the slow part of start-up (pyqtgraph and numpy come in with the charts), which is why
ui/main_window.py imports it only in ``MainWindow.fill``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QSplitter, QStyle

from ui.activity_panel import ActivityPanel
from ui.bot_controller import attach_bots
from ui.cloud_panel import CloudController
from ui.copier_panel import attach_copier
from ui.elided_label import ElidedLabel
from ui.equity_chart import EquityChart
from ui.frame_pacer import FramePacer
from ui.layout_gate import TabLayoutGate
from ui.lock_banner import LockBanner
from ui.overview import Overview
from ui.overview_stats import attach_overview_stats
from ui.positions_panel import PositionsPanel
from ui.rules_view import RulesView
from ui.sidebar import AccountSidebar, AccountsModel
from ui.stats_panel import StatsPanel
from ui.terminals_panel import TerminalsPanel
from ui.theme import app_icon, lock_icon
from ui.tray import Tray

if TYPE_CHECKING:
    from ui.main_window import MainWindow


def fill_window(w: MainWindow, desk: Any) -> None:
    """Everything the shell lacks, in the shell's places; then the accounts the Desk knows so far."""
    from ui.main_window import REPAINT_MS

    w.model = AccountsModel()
    w.sidebar = AccountSidebar(w.model, lock_icon())
    w.banner = LockBanner(w.name_of)
    w.chart = EquityChart()
    w.overview = Overview(w.name_of)
    w.terminals = TerminalsPanel(lambda lane, verb: w._spawn(desk.lane_action(lane, verb)), w.name_of)
    w.tabs.clear()  # the shell's empty pages, named as these
    w.tabs.addTab(w.overview, "All accounts")
    w.positions = PositionsPanel(desk, w._spawn, lambda key: w.account_action("close_all", key))
    w.tabs.addTab(w.positions, "Positions")
    w.tabs.addTab(w.terminals, "Terminals")
    w.activity = ActivityPanel()
    w.tabs.addTab(w.activity, "Activity")
    w.bots_panel = attach_bots(w)  # [I] the Bots tab, the sidebar's bot markers, the start dialog
    w.copier_panel = attach_copier(w)  # [J] the Copier tab and the sidebar's copier markers
    w.tab_gate = TabLayoutGate(w.tabs)  # [P] 1: a tile's label resizing no longer repaints all the tabs
    w.stats = StatsPanel()
    w.stats.period.currentIndexChanged.connect(lambda _i: w._load_stats(w.focused))
    w.stats.scope.currentIndexChanged.connect(lambda _i: w._load_stats(w.focused))
    w.stats.scope.before_popup = w._stats_currencies
    chart_row = QSplitter(Qt.Orientation.Horizontal)
    chart_row.addWidget(w.chart)
    chart_row.addWidget(w.stats)
    chart_row.setStretchFactor(0, 1)
    w.chart_place.layout().addWidget(chart_row)  # the places keep the sizes the shell restored
    w.right_layout.insertWidget(0, w.banner)
    starting = w.sidebar_place.layout().takeAt(0).widget()  # the shell's "Starting…" text
    starting.hide()
    starting.deleteLater()
    w.sidebar_place.layout().addWidget(w.sidebar.panel)
    _finish_bars(w)
    if getattr(desk, "simulator", False):
        badge = QLabel("  SIMULATOR · demo accounts, no real money  ")
        badge.setObjectName("SimulatorBadge")
        badge.setToolTip("MetaTrader5 is not installed here, so MT5 Desk runs on its built-in simulator.")
        w.toolbar.addWidget(badge)
    w.cloud = CloudController(desk, w.cloud_text, w._spawn)
    w.tray = Tray(w, app_icon(), w.name_of)
    w.sidebar.activate_requested.connect(w.activate)
    w.sidebar.focus_changed.connect(w.focus)
    w.sidebar.action_requested.connect(w.account_action)
    w.sidebar.reordered.connect(desk.reorder)
    w.overview.focus_requested.connect(w.focus)
    w.chart.wanted.connect(lambda key, start, end, n: w._spawn(w._load_chart(key, start, end, n)))
    w.banner.cancel_requested.connect(desk.cancel)
    w.banner.release_requested.connect(desk.release)
    for n in range(1, 10):
        QShortcut(QKeySequence(f"Ctrl+{n}"), w, activated=lambda n=n: w._activate_nth(n))
    QShortcut(QKeySequence("Ctrl+Q"), w, activated=w.request_quit)  # the same quit as the close box
    desk.event.connect(w.on_event)
    w.timer = QTimer(w)
    w.timer.setInterval(REPAINT_MS)
    w.pacer = FramePacer(w)
    w.timer.timeout.connect(w._paced_repaint)
    w.timer.start()
    w._restore_view()
    w.filled = True
    w.on_event({"event": "accounts", "accounts": desk.accounts()})
    w.rules_view = RulesView(w)  # [H]: headroom, floors, rules dialog, flatten
    w.overview_stats = attach_overview_stats(w)  # [E] 4: the tiles' statistics


def _finish_bars(w: MainWindow) -> None:
    """The toolbar's icons and shortcut, and the status bar's labels that cut long text (the shell has plain
    ones: both need Qt's enums, which the shell's first paint does not wait for)."""
    style = w.style()
    for action, icon in zip(w._desk_actions, (QStyle.StandardPixmap.SP_FileDialogNewFolder,
                                              QStyle.StandardPixmap.SP_MediaStop,
                                              QStyle.StandardPixmap.SP_FileDialogDetailedView,
                                              QStyle.StandardPixmap.SP_DriveNetIcon), strict=True):
        action.setIcon(style.standardIcon(icon))
    w._desk_actions[0].setShortcut(QKeySequence("Ctrl+L"))
    shell_status = w.status_text
    w.statusBar().removeWidget(shell_status)
    shell_status.deleteLater()
    w.status_text = ElidedLabel()
    w.status_text.setText(shell_status.text())
    w.statusBar().addWidget(w.status_text, 1)
    w.notice_text = QLabel()
    w.notice_text.setObjectName("NoticeText")
    w.statusBar().addPermanentWidget(w.notice_text)
    w.cloud_text = ElidedLabel()  # a long cloud error is cut here, whole in the tooltip
    w.statusBar().addPermanentWidget(w.cloud_text)
