"""The sidebar: search, sort and filter (by name, server, equity, P/L, state), and every action from
the keyboard; the selection follows Ctrl+1…9."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_desk import FakeDesk, fake_accounts, fake_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon

from ui.sidebar import AccountSidebar, AccountsModel


@pytest.fixture
def sidebar(qtbot):
    model = AccountsModel()
    bar = AccountSidebar(model, QIcon())
    qtbot.addWidget(bar.panel)
    accounts = fake_accounts(6)
    desk = FakeDesk(Path("/tmp/unused-desk"), accounts)
    model.states, model.snapshots = desk.states, desk.snaps
    bar.rebuild(accounts, None)
    bar.panel.resize(320, 600)
    bar.panel.show()
    qtbot.waitExposed(bar.panel)
    return bar


def names(model: AccountsModel) -> list[str]:
    return [model.account(k)["label"] for k in model.keys_in_view_order()]


def test_search_matches_name_login_and_server(qtbot, sidebar) -> None:
    panel, model = sidebar.panel, sidebar.model()
    qtbot.keyClicks(panel.search, "account 4")
    assert names(model) == ["Account 4"]
    assert "5 of 6" in panel.hidden.text() and panel.hidden.isVisible()
    panel.search.clear()
    qtbot.keyClicks(panel.search, "northwind")
    assert names(model) == ["Account 2", "Account 5"]
    panel.search.clear()
    qtbot.keyClicks(panel.search, "51000003")
    assert names(model) == ["Account 3"]
    panel.search.clear()
    assert len(model.keys_in_view_order()) == 6 and not panel.hidden.isVisible()


def test_sort_by_equity_profit_name_server_state(sidebar) -> None:
    panel, model = sidebar.panel, sidebar.model()

    def sort(value: str) -> list[str]:
        panel.sort.setCurrentIndex(panel.sort.findData(value))
        return names(model)

    assert sort("equity") == [f"Account {i}" for i in (5, 4, 3, 2, 1, 0)]
    assert sort("profit") == [f"Account {i}" for i in (5, 4, 3, 2, 1, 0)]
    model.snapshots["51000000@SimBroker-Demo"]["profit"] = 999.0
    model.refresh()  # new values re-sort
    assert names(model)[0] == "Account 0"
    assert sort("name") == [f"Account {i}" for i in range(6)]
    assert sort("server")[:2] == ["Account 2", "Account 5"]  # Northwind first, as a group
    assert model.item(0).data(Qt.ItemDataRole.DisplayRole) == "Northwind-Server"
    assert sort("state")[:2] == ["Account 0", "Account 5"]  # live first
    assert sort("owner") == [f"Account {i}" for i in (0, 3, 1, 4, 2, 5)]  # grouped by server, stored order


def test_filter_by_state(sidebar) -> None:
    panel, model = sidebar.panel, sidebar.model()

    def only(value: str) -> list[str]:
        panel.filter.setCurrentIndex(panel.filter.findData(value))
        return sorted(names(model))

    assert only("live") == ["Account 0", "Account 5"]
    assert only("problem") == ["Account 3", "Account 4"]  # login failed, offline
    assert only("dedicated") == ["Account 1", "Account 5"]
    assert only("investor") == ["Account 4"]
    assert not sidebar.dragEnabled()  # reordering a filtered list would lose the hidden accounts
    assert only("all") == [f"Account {i}" for i in range(6)]
    assert sidebar.dragEnabled()


def test_keyboard_moves_over_accounts_only_and_enter_activates(qtbot, sidebar) -> None:
    focused, activated = [], []
    sidebar.focus_changed.connect(focused.append)
    sidebar.activate_requested.connect(activated.append)
    sidebar.setFocus()
    order = sidebar.model().keys_in_view_order()
    qtbot.waitUntil(sidebar.hasFocus)  # focusing the list selects its first account
    sidebar.select(order[0])
    focused.clear()
    for _ in range(5):
        qtbot.keyClick(sidebar, Qt.Key.Key_Down)
    assert focused == order[1:6]  # the server headers in between are skipped
    qtbot.keyClick(sidebar, Qt.Key.Key_Home)
    assert sidebar.selected_key() == order[0]
    qtbot.keyClick(sidebar, Qt.Key.Key_Up)
    assert sidebar.selected_key() == order[0]
    qtbot.keyClick(sidebar, Qt.Key.Key_End)
    assert sidebar.selected_key() == order[-1]
    qtbot.keyClick(sidebar, Qt.Key.Key_Return)
    assert activated == [order[-1]]


def test_keyboard_reorder_unlink_and_search_shortcuts(qtbot, sidebar) -> None:
    orders, actions = [], []
    sidebar.reordered.connect(orders.append)
    sidebar.action_requested.connect(lambda a, k: actions.append((a, k)))
    order = sidebar.model().keys_in_view_order()
    sidebar.setFocus()
    sidebar.select(order[1])
    qtbot.keyClick(sidebar, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert orders == [[order[1], order[0], *order[2:]]]
    qtbot.keyClick(sidebar, Qt.Key.Key_Delete)
    assert actions == [("unlink", order[1])]
    panel = sidebar.panel
    panel.focus_search()
    qtbot.keyClicks(panel.search, "account 2")
    qtbot.keyClick(panel.search, Qt.Key.Key_Down)
    assert sidebar.hasFocus()
    panel.search.setFocus()
    qtbot.keyClick(panel.search, Qt.Key.Key_Escape)
    assert panel.search.text() == "" and sidebar.hasFocus()


def test_ctrl_number_moves_the_selection(qtbot, qloop, tmp_path: Path) -> None:
    desk = FakeDesk(tmp_path / "data", fake_accounts(6))
    with fake_window(qtbot, qloop, desk) as window:
        order = window.model.keys_in_view_order()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)  # shortcuts reach the active window only
        qtbot.keyClick(window.sidebar, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
        assert desk.activated == [order[2]]
        assert window.sidebar.selected_key() == order[2] and window.chart.key == order[2]
        window.overview.focus_requested.emit(order[4])  # a click on a tile
        assert window.sidebar.selected_key() == order[4]
