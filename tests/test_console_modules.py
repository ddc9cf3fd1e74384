"""Modules and groups in a real browser: revoking a module after a confirmation, and a
group that opens its queue."""

from __future__ import annotations

import pytest

from console_helpers import Console, browser, console, create_case, expect  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_modules_list_and_revoke_with_confirmation(console: Console) -> None:
    server = console.server
    response = server.api("POST", "/api/v1/modules", json={"name": "Acme GmbH", "groupid": "acme"})
    assert response.status_code == 201, response.text
    module = response.json()
    page = console.open().login().page
    page.get_by_role("button", name="Modules & groups").click()
    row = page.locator(f"#modules-body tr[data-module='{module['module_id']}']")
    expect(row).to_contain_text("Acme GmbH")
    expect(row).to_contain_text("Active")
    expect(page.locator("#groups-list")).to_contain_text("acme")

    row.get_by_role("button", name="Revoke module Acme GmbH").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Acme GmbH")
    console.shot("console-modules-revoke.png")
    dialog.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
    assert server.api("GET", f"/api/v1/modules/{module['module_id']}").json()["active"] is False
    refused = server.api("POST", "/api/v1/customer/sos", token=None,
                         json={"device_id": "device-0000000000099", "module_id": module["module_id"]})
    assert refused.status_code == 403


def test_a_group_opens_its_queue_and_the_language_follows_on_modules(console: Console) -> None:
    server = console.server
    office = create_case(server, "Carl Weber", "Outlook asks for the password", groupid="office")
    other = create_case(server, "Dora Fischer", "VPN drops", groupid="default")
    page = console.open().login().page
    expect(console.row(other["code"])).to_be_visible()
    page.get_by_role("button", name="Modules & groups").click()
    expect(page.locator("#modules-view")).to_be_visible()
    page.get_by_label("Language").select_option("de")
    expect(page.get_by_role("button", name="Warteschlange der Gruppe office anzeigen")).to_be_visible()
    expect(page.locator("#modules-view")).to_be_visible()
    page.get_by_role("button", name="Warteschlange der Gruppe office anzeigen").click()
    expect(page.locator("#queue-view")).to_be_visible()
    expect(page.locator("#modules-view")).to_be_hidden()
    expect(page.locator("#nav .tab[data-view='queue']")).to_have_attribute("aria-current", "page")
    # The queue filters by the group's id (TeamViewer's g<n>); the expert reads its name.
    expect(page.locator("#filter-group")).to_have_value(office["groupid"])
    expect(page.locator("#filter-group option:checked")).to_have_text("office")
    expect(page.locator("#queue-body tr")).to_have_count(1)
    expect(console.row(office["code"])).to_be_visible()
