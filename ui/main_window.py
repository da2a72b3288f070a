"""The main window: account sidebar on the left, the lock banner and the focused account's chart in
the centre, the overview and the terminals below, a status bar. Events from the Desk only mark
things dirty; a timer repaints a few times a second.

It is built in two steps ([P] 2): the shell (title, toolbar, an empty sidebar saying the app is starting,
the saved layout) needs only Qt, so ui/launch.py shows and paints it before anything slow is imported;
``fill`` then builds the real panels into it (ui/window_build.py: the charts, pyqtgraph, numpy). Given a
desk, the constructor does both at once. Keep this module's imports light: the shell's paint waits on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QMainWindow, QSizePolicy, QSplitter, QTabWidget, QToolBar, QVBoxLayout, QWidget

from ui.theme import app_icon, apply_theme
from ui.window_lifecycle import WindowLifecycle
from ui.window_loads import FocusedAccountLoads

if TYPE_CHECKING:
    import asyncio

    from ui.dialogs import LinkDialog, SettingsDialog
    from ui.elided_label import ElidedLabel
    from ui.equity_chart import Series

REPAINT_MS = 250
TILE_POINTS = 600  # a small chart needs no more: the full history is read when an account is focused
TAB_NAMES = ("All accounts", "Positions", "Terminals", "Activity", "Bots", "Copier")
# The shell sets its few enum values as properties, by number: PySide builds the whole Qt namespace (and
# QStyle's) as Python enums the first time either is touched, tens of ms that the first paint need not wait.
VERTICAL, TOP_CENTRE, TEXT_BESIDE_ICON = 2, 0x24, 2  # Qt::Vertical, AlignTop|AlignHCenter, ToolButtonTextBesideIcon


def _place(splitter: QSplitter) -> QWidget:
    """An empty place in ``splitter`` that ``fill`` puts a real panel in (its size restored with the shell's)."""
    place = QWidget()
    QVBoxLayout(place).setContentsMargins(0, 0, 0, 0)
    splitter.addWidget(place)
    return place


class MainWindow(FocusedAccountLoads, WindowLifecycle, QMainWindow):
    def __init__(self, desk: Any = None, *, data_dir: Path | None = None, theme: str | None = None) -> None:
        """With a desk: the whole window. Without: the shell for ``data_dir`` (ui/launch.py fills it in)."""
        super().__init__()
        self.desk = desk
        self.filled = False
        self.setWindowTitle("MT5 Desk")
        self.setWindowIcon(app_icon())
        self.resize(1400, 860)
        self.series: dict[str, Series] = {}
        self.focused: str | None = None
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loaded: dict[str, int] = {}  # account -> how many history points were asked for
        self.quit_handler: Callable[[str], None] | None = None  # set by ui.launch: quitting is its job
        self._quit_confirmed = False
        data_dir = Path(desk.data_dir) if desk is not None else Path(data_dir or ".")
        apply_theme(theme or (desk.settings.get("theme", "light") if desk is not None else "light"))
        self._build_shell()
        self._settings = QSettings(str(data_dir / "window.ini"), QSettings.Format.IniFormat)
        self._restore_layout()
        if desk is not None:
            self.fill(desk)

    # ---- building ---------------------------------------------------------------------------
    def _build_shell(self) -> None:
        """What the first paint shows: the toolbar (its actions wait for the Desk), the sidebar's place saying
        the app is starting, the chart's place and the tabs, the status line. Only Qt and light ui modules."""
        starting = QLabel("Starting…\n\nReading your accounts; the terminals start next.")
        starting.setObjectName("Muted")
        starting.setProperty("alignment", TOP_CENTRE)
        starting.setMargin(24)
        starting.setWordWrap(True)
        self.tabs = QTabWidget()
        for name in TAB_NAMES:
            self.tabs.addTab(QWidget(), name)
        self.centre_splitter = QSplitter()
        self.centre_splitter.setProperty("orientation", VERTICAL)
        self.chart_place = _place(self.centre_splitter)  # the chart and the statistics, once filled
        self.centre_splitter.addWidget(self.tabs)
        self.centre_splitter.setSizes([480, 320])
        right = QWidget()
        self.right_layout = QVBoxLayout(right)
        self.right_layout.setContentsMargins(0, 0, 0, 0)
        self.right_layout.addWidget(self.centre_splitter, 1)
        self.splitter = QSplitter()  # horizontal
        self.sidebar_place = _place(self.splitter)  # the sidebar's: search, sort and filter above the list
        self.sidebar_place.layout().addWidget(starting)
        self.splitter.addWidget(right)
        self.splitter.setSizes([340, 1060])
        self.splitter.setStretchFactor(1, 1)  # a smaller window narrows the chart, not the account list
        self.setCentralWidget(self.splitter)
        self._build_toolbar()
        self.status_text: QLabel | ElidedLabel = QLabel("Starting: reading your accounts…")  # elided once filled
        self.statusBar().addWidget(self.status_text, 1)

    def fill(self, desk: Any) -> None:
        """Build the real panels into the shell and list the Desk's accounts (ui/window_build.py)."""
        from ui.window_build import fill_window

        self.desk = desk
        fill_window(self, desk)
        for action in self._desk_actions:
            action.setEnabled(True)

    def _build_toolbar(self) -> None:
        bar = self.toolbar = QToolBar("Main")
        bar.setMovable(False)
        bar.setProperty("toolButtonStyle", TEXT_BESIDE_ICON)
        self.addToolBar(bar)
        blank = QPixmap(16, 16)
        blank.fill(QColor(0, 0, 0, 0))
        room = QIcon(blank)  # keeps each button's room for the style's icon, set by fill (ui/window_build.py)
        link = QAction(room, "Link account…", self)
        link.triggered.connect(lambda: self.open_link_dialog())
        release = QAction(room, "Release terminal", self)
        release.triggered.connect(lambda: self.desk.release())
        settings = QAction(room, "Settings…", self)
        settings.triggered.connect(lambda: self.open_settings())
        cloud = QAction(room, "Cloud sync…", self)
        cloud.triggered.connect(self._open_cloud)
        bar.addAction(link)
        bar.addAction(release)
        bar.addAction(settings)
        bar.addAction(cloud)
        self._desk_actions = (link, release, settings, cloud)
        for action in self._desk_actions:
            action.setEnabled(False)  # until the Desk is there (fill)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)

    def _open_cloud(self) -> None:
        from ui.cloud_panel import CloudDialog

        CloudDialog(self, self.cloud).open()

    def name_of(self, key: str) -> str:
        a = self.model.account(key)
        if a is None:
            return key
        return f"{a['label']} ({a['login']})" if a.get("label") else key

    # ---- events: mark dirty, the timer repaints ------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        if kind == "accounts":
            self.sidebar.rebuild(ev["accounts"], self.focused)
            keys = [a["key"] for a in ev["accounts"]]
            self.overview.set_accounts(keys)
            if self.focused not in keys:
                self.focus(keys[0] if keys else None)
            elif self.chart.key != self.focused:
                self.focus(self.focused)  # the account focused last time
            for key in keys:  # the overview's small charts start from each account's history
                if key not in self._loaded:
                    self._load(key, TILE_POINTS)
            self._dirty |= {"rows", "overview", "status"}
        elif kind == "snapshot":
            from ui.equity_chart import Series  # loaded by fill: a dict lookup here

            key = ev["account"]
            s = self.series.setdefault(key, Series())
            s.append(float(ev.get("ts") or time.time()), float(ev.get("balance") or 0), float(ev.get("equity") or 0))
            self._dirty |= {"rows", "overview", "chart"}
        elif kind == "lock":
            self._dirty |= {"banner", "rows", "status", "terminals"}  # [K] the Terminals tab shows locks too
        elif kind == "account_state":
            self._dirty |= {"rows", "overview", "status", "chart"}
        elif kind in ("terminal", "worker"):
            self._dirty.add("terminals")
        elif kind in ("rates", "alert"):
            self._dirty.add("overview")
        elif kind == "deals" and ev.get("account") == self.focused and ev.get("new"):
            self.chart.reload()  # the past rebuilt from the deals just fetched
            self.positions.load_trades()
            self._load_stats(self.focused)
        elif kind == "error":
            self.statusBar().showMessage(f"⚠ {ev.get('message')}", 15000)
        elif kind == "job":
            self._job_event(ev)
        elif kind == "activity":
            self.activity.add(ev)
        elif kind == "notice":
            self._notice(ev)
        self.tray.on_event(ev)

    def _job_event(self, ev: dict[str, Any]) -> None:
        """A job's end reaches the owner in the status bar (the tray and the activity log get it too)."""
        if ev.get("job") == "verify" or ev.get("state") not in ("done", "failed", "cancelled", "aborted"):
            return
        from app.activity import JOB_NAMES, job_result_text

        if ev.get("account") == self.focused:
            self.positions.poll()  # what a close-all left open
        self.positions.job_event(ev)  # a close-one result, with its retcode, next to the positions
        what = JOB_NAMES.get(str(ev.get("job")), str(ev.get("job")))
        verdict = {"done": "done", "failed": "FAILED"}.get(str(ev.get("state")), "cancelled")
        mark = "✓" if verdict == "done" else "⚠"
        self.statusBar().showMessage(f"{mark} {what} on {self.name_of(ev.get('account') or '')}: {verdict} — "
                                     f"{job_result_text(ev)}", 60000)
        self._dirty.add("status")

    def _notice(self, ev: dict[str, Any]) -> None:
        """A notice: its title in the status bar for a while (the whole text in the activity log);
        a warning stays as a short mark whose tooltip says it all."""
        title, message = str(ev.get("title") or ""), str(ev.get("message") or "")
        self.statusBar().showMessage(f"{title} (details under Activity)" if message else title, 30000)
        if ev.get("level") == "warning":
            self.notice_text.setText("⚠ Notice")
            self.notice_text.setToolTip(f"{title}\n\n{message}")

    def repaint_dirty(self) -> None:
        """Everything marked dirty, repainted now (tests and a screenshot call this)."""
        from ui.frame_pacer import repaint_steps

        self.pacer.flush()
        for step in repaint_steps(self):
            step()

    def _paced_repaint(self) -> None:
        """The timer's repaint: one small step per event-loop turn (ui/frame_pacer.py)."""
        from ui.frame_pacer import repaint_steps

        if not self.pacer.busy():
            self.pacer.run(repaint_steps(self))

    def _status_line(self, states: dict[str, dict[str, Any]], lock: dict[str, Any]) -> tuple[str, str]:
        """('9 accounts · 3 live · 1 stale · shared terminal: …', '9 accounts · 3 live · 1 stale'); while
        starting, says so instead of '0'."""
        started = bool(getattr(self.desk, "started", True))
        keys = [a["key"] for a in self.model.accounts]
        if not keys:
            return ("Starting: reading your accounts…" if not started else "No accounts linked yet"), ""
        count = {s: sum(1 for k in keys if (states.get(k) or {}).get("state") == s)
                 for s in ("live", "stale", "disconnected")}
        parts = [f"{len(keys)} account{'s' if len(keys) != 1 else ''}", f"{count['live']} live"]
        parts += [f"{n} {s}" for s, n in count.items() if s != "live" and n]
        counts = " · ".join(parts)
        if not started:
            return f"{counts} · starting the terminals…", counts
        holder = (lock.get("holder") or {}).get("account")
        return f"{counts} · shared terminal: {self.name_of(holder) if holder else 'free'}", counts

    # ---- the owner's actions ----------------------------------------------------------------------
    def activate(self, key: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        self.focus(key)
        running = None if (self.model.account(key) or {}).get("host") else self.desk.job_running()  # [K] its own
        if running and running != key:
            box = QMessageBox(QMessageBox.Icon.Question, "A job is running",
                              f"{self.name_of(running)} is running a job on the shared terminal.\n\n"
                              f"Wait for it to finish, or interrupt it and switch to {self.name_of(key)} now?",
                              QMessageBox.StandardButton.Cancel, self)
            wait = box.addButton("Wait in the queue", QMessageBox.ButtonRole.AcceptRole)
            now = box.addButton("Interrupt and switch", QMessageBox.ButtonRole.DestructiveRole)
            box.buttonClicked.connect(lambda b: self.desk.activate(key, preempt=b is now) if b in (wait, now) else None)
            box.open()
            return
        self.desk.activate(key)

    def _activate_nth(self, n: int) -> None:
        keys = self.model.keys_in_view_order()
        if n <= len(keys):
            self.activate(keys[n - 1])

    def account_action(self, action: str, key: str) -> None:
        from ui.dialogs import EditDialog, confirm

        account = self.model.account(key) or {}
        name = self.name_of(key)
        if action in ("dedicated", "shared"):
            self._spawn(self.desk.update_account(key, mode=action))
        elif action == "edit":
            login, server = key.split("@", 1)
            EditDialog(self, account, lambda v: self._spawn(self.desk.update_account(key, **v)),
                       change_password=lambda pw: self.desk.link_account(login, server, pw)).open()
        elif action == "bot":
            self.bots_panel.start_requested.emit(key)
        elif action == "close_all":
            confirm(self, "Close all positions", f"Close every open position of {name} at market now?\n\n"
                    "This cannot be undone.", "Close all positions", lambda: self.desk.close_all(key))
        elif action in ("rules", "flatten"):
            self.rules_view.account_action(action, key)
        elif action == "unlink":
            confirm(self, "Unlink account", f"Unlink {name}?\n\nIts password is deleted from this computer; "
                    "its equity history is kept.", "Unlink", lambda: self._spawn(self.desk.unlink_account(key)))

    def open_link_dialog(self) -> LinkDialog:
        from ui.dialogs import LinkDialog

        dialog = LinkDialog(self, self.desk)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        from ui.alerts_settings import add_alerts_tab
        from ui.dialogs import SettingsDialog
        from ui.hosts_settings import add_hosts_settings
        from ui.key_settings import add_key_settings
        from ui.portfolio_settings import add_portfolio_settings

        extra: dict[str, Callable[[], Any]] = {}

        def save(values: dict[str, Any]) -> None:
            apply_theme(values.get("theme", "light"))
            self._spawn(self.desk.save_settings({**values, **{k: get() for k, get in extra.items()}}))

        dialog = SettingsDialog(self, dict(self.desk.settings), save)
        currencies = sorted({(self.desk.last_snapshot(a["key"]) or {}).get("currency") or ""
                             for a in self.model.accounts} - {""})
        extra.update(add_portfolio_settings(dialog, self.desk.settings, currencies))
        add_key_settings(dialog, self.desk.data_dir, self._spawn, self.desk.io)  # [K] 4
        add_hosts_settings(dialog, self.desk)  # [K] Settings → Hosts
        extra.update(add_alerts_tab(dialog, self.desk))  # [N] Settings → Alerts
        dialog.open()
        return dialog

    def _spawn(self, coro: Any) -> None:
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self.statusBar().showMessage(f"⚠ {t.exception()}", 15000)

        task.add_done_callback(done)
