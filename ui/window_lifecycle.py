"""The main window's life: its layout and focus kept across runs, the Desk started behind it, and the one
orderly quit (title bar, tray, Ctrl+Q, a signal through ui/launch.py) that asks first while a job is
queued or running. A mixin of ui/main_window.MainWindow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMainWindow

if TYPE_CHECKING:
    from ui.main_window import MainWindow


class WindowLifecycle:
    # ---- persistence -------------------------------------------------------------------------------
    def _restore_layout(self: MainWindow) -> None:
        """The shell's geometry and splits, as left last time, so its first paint is the window's layout."""
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for name, splitter in (("splitter", self.splitter), ("centre", self.centre_splitter)):
            state = self._settings.value(name)
            if state is not None:
                splitter.restoreState(state)

    def _restore_view(self: MainWindow) -> None:
        """What was on screen last time: the focused account, the tab, the chart's range (once filled)."""
        self.focused = self._settings.value("focused") or None
        self.tabs.setCurrentIndex(int(self._settings.value("tab") or 0))
        chart_range = self.chart.range_buttons.button(int(self._settings.value("chart_range") or 1))
        if chart_range is not None:
            chart_range.setChecked(True)

    def save_state(self: MainWindow) -> None:
        if not self.filled:
            return  # a quit before the window was filled in: what was saved stays as it was
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("splitter", self.splitter.saveState())
        self._settings.setValue("centre", self.centre_splitter.saveState())
        self._settings.setValue("focused", self.focused or "")
        self._settings.setValue("tab", self.tabs.currentIndex())
        self._settings.setValue("chart_range", self.chart.range_buttons.checkedId())
        self._settings.sync()

    # ---- start and quit ----------------------------------------------------------------------------
    async def start_desk(self: MainWindow) -> None:
        """Start the Desk (its accounts appear as soon as the vault is read), then the stored activity."""
        self._spawn(self._load_activity())
        await self.desk.start()
        self.on_event({"event": "accounts", "accounts": self.desk.accounts()})

    async def _load_activity(self: MainWindow) -> None:
        self.activity.load(await self.desk.recent_activity())

    def request_quit(self: MainWindow, ask: bool = True) -> bool:
        """Quit through ui.launch's orderly shutdown; with a job queued or running, ask first.
        Returns False when the owner chose to stay."""
        from PySide6.QtWidgets import QMessageBox

        from app.activity import JOB_NAMES

        jobs = self.desk.pending_jobs() if ask and not self._quit_confirmed and self.filled else []
        if jobs:
            names = "\n".join(f"• {JOB_NAMES.get(str(j.get('job')), j.get('job'))} on "
                               f"{self.name_of(j.get('account') or '')} ({j.get('state')})" for j in jobs)
            box = QMessageBox(QMessageBox.Icon.Warning, "A job is not finished",
                              f"{names}\n\nQuit anyway? A job that has not started is dropped; a running one is "
                              "interrupted, and some positions may stay open.", QMessageBox.StandardButton.Cancel,
                              self)
            quit_button = box.addButton("Quit anyway", QMessageBox.ButtonRole.DestructiveRole)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.buttonClicked.connect(lambda b: self._confirmed_quit() if b is quit_button else None)
            box.open()
            return False
        self._confirmed_quit()
        return True

    def _confirmed_quit(self: MainWindow) -> None:
        self._quit_confirmed = True
        if self.quit_handler is not None:
            self.quit_handler("the owner quit")
        else:
            self.close()

    async def shutdown(self: MainWindow) -> None:
        """Stop repainting and finish the window's own tasks before the Desk stops."""
        import asyncio

        self._quit_confirmed = True  # a second close while shutting down asks nothing again
        self.save_state()
        if self.filled:
            self.timer.stop()
            self.pacer.stop()
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self.filled:
            self.tray.hide()
        self.quit_handler = None  # the close that follows is the real one

    def closeEvent(self: MainWindow, event: Any) -> None:
        if self.quit_handler is not None:
            event.ignore()  # the title bar's close asks for an orderly quit; ui.launch closes us after
            self.request_quit()
            return
        self.save_state()
        if self.filled:
            self.timer.stop()
            self.pacer.stop()
        for t in list(self._tasks):
            t.cancel()
        QMainWindow.closeEvent(self, event)
