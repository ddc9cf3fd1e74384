"""Managing cases in a real browser: editing a case, assigning and transferring it,
Connect on another expert's case asking first, the bulk delete listing what it deletes,
the module's name in the detail, the customer's own description arriving at once, and
presence (online, left, or no agent yet)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from console_helpers import LIVE_TIMEOUT, Console, browser, console, create_case, expect, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_edit_a_case_from_its_detail(console: Console) -> None:
    server = console.server
    made = create_case(server, "Bob Meier", "printer", email="bob@example.com")
    page = console.open().login().page
    console.row(made["code"]).get_by_role("button", name=f"Details of case {made['code']}").click()
    page.get_by_role("button", name="Edit or assign").click()
    edit = page.locator("#edit-dialog")
    expect(edit.get_by_role("heading")).to_have_text(f"Edit case {made['code']}")
    expect(edit.get_by_label("Customer's name")).to_have_value("Bob Meier")
    edit.get_by_label("Customer's name").fill("Bob Meyer")
    edit.get_by_label("Customer's e-mail").fill("not an address")
    edit.get_by_label("Problem").fill("Printer on floor 2 prints empty pages")
    edit.get_by_label("Group").fill("office")
    edit.get_by_label("Valid until").select_option(label="3 days from now")
    edit.get_by_role("button", name="Save").click()
    expect(edit.get_by_label("Customer's e-mail")).to_have_attribute("aria-invalid", "true")  # the server's check
    assert server.api("GET", f"/api/v1/sessions/{made['code']}").json()["description"] == "printer"
    edit.get_by_label("Customer's e-mail").fill("bob.meyer@example.com")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    expect(page.locator("#flash")).to_have_text(f"Case {made['code']} saved.")
    expect(page.locator("#detail-fields")).to_contain_text("Printer on floor 2 prints empty pages")
    row = console.row(made["code"])
    expect(row.locator(".c-customer")).to_contain_text("Bob Meyer")
    expect(row.locator(".c-group")).to_have_text("office")
    case = server.api("GET", f"/api/v1/sessions/{made['code']}").json()
    assert case["end_customer"] == {"name": "Bob Meyer", "email": "bob.meyer@example.com"}
    hours = (datetime.fromisoformat(case["valid_until"].replace("Z", "+00:00"))
             - datetime.now(timezone.utc)).total_seconds() / 3600
    assert 71.9 < hours <= 72


def test_assign_transfer_and_connect_asks_before_taking_over(console: Console) -> None:
    server = console.server
    bernd = server.add_expert("bernd")
    made = create_case(server, "Carla", "VPN")
    page = console.open().login().page
    row = console.row(made["code"])

    def assign(label: str) -> None:
        row.get_by_role("button", name=f"Details of case {made['code']}").click()
        page.get_by_role("button", name="Edit or assign").click()
        page.locator("#edit-dialog").get_by_label("Assigned to").select_option(label=label)
        page.locator("#edit-dialog").get_by_role("button", name="Save").click()
        expect(page.locator("#edit-dialog")).to_be_hidden()
        page.get_by_role("button", name="Done").click()

    assign("anna (me)")
    expect(row.locator(".c-assigned")).to_have_text("anna")
    assign("bernd")  # transferred to another expert
    expect(row.locator(".c-assigned")).to_have_text("bernd")

    # bernd connects; anna's Connect now asks before taking the case over.
    assert server.api("POST", f"/api/v1/sessions/{made['code']}/connect", token=bernd).status_code == 200
    confirm = page.locator("#confirm-dialog")
    row.get_by_role("button", name="Connect").click()
    expect(confirm).to_contain_text(f"bernd is connected to case {made['code']}. Take it over?")
    confirm.get_by_role("button", name="Cancel").click()
    expect(page.locator("#session-view")).to_be_hidden()
    assert server.api("GET", f"/api/v1/sessions/{made['code']}").json()["assigned_name"] == "bernd"
    row.get_by_role("button", name="Connect").click()
    confirm.get_by_role("button", name="Take over and connect").click()
    expect(page.locator("#session-view")).to_be_visible()
    case = server.api("GET", f"/api/v1/sessions/{made['code']}").json()
    assert case["assigned_name"] == "anna" and case["remote"]["view"] == "requested"


def test_connect_on_a_case_assigned_to_another_expert_asks_first(console: Console) -> None:
    server = console.server
    server.add_expert("bernd")
    made = create_case(server, "Dora", "Scanner", assigned_userid="u2")
    page = console.open().login().page
    console.row(made["code"]).get_by_role("button", name="Connect").click()
    expect(page.locator("#confirm-dialog")).to_contain_text(
        f"Case {made['code']} is assigned to bernd. Take it over and connect?")
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    case = server.api("GET", f"/api/v1/sessions/{made['code']}").json()
    assert case["assigned_name"] == "bernd" and not case["expert_started"]


def test_bulk_delete_lists_the_codes_and_customers(console: Console) -> None:
    server = console.server
    cases = [create_case(server, name, "x") for name in ("Eva Lind", "Frank Huber", "Gina Roth")]
    device = sos(server, 5, "printer", user="h.mueller")["case"]
    page = console.open().login().page
    for case in (cases[0], cases[2], device):
        console.row(case["code"]).get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected (3)").click()
    listed = page.locator("#confirm-list li")
    expect(listed).to_have_text([f"{cases[0]['code']} – Eva Lind", f"{cases[2]['code']} – Gina Roth",
                                 f"{device['code']} – h.mueller"])
    page.locator("#confirm-dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#flash")).to_have_text("3 cases deleted.")
    expect(page.locator("#queue-body tr")).to_have_count(1)


def test_the_detail_names_the_module_and_the_customers_words_arrive_at_once(console: Console) -> None:
    server = console.server
    module = server.api("POST", "/api/v1/modules", json={"name": "ACME GmbH", "groupid": "acme"}).json()
    made = sos(server, 6, "", module_id=module["module_id"])
    code = made["case"]["code"]
    page = console.open().login().page
    console.row(code).get_by_role("button", name=f"Details of case {code}").click()
    fields = page.locator("#detail-fields")
    expect(fields).to_contain_text("ACME GmbH")
    expect(fields).not_to_contain_text(module["module_id"])
    # The customer types what they need help with in their window (the agent's route).
    said = server.api("PUT", "/api/v1/customer/case", token=made["token"],
                      json={"description": "Outlook crashes when I open the calendar"})
    assert said.status_code == 200, said.text
    expect(fields).to_contain_text("Outlook crashes when I open the calendar", timeout=LIVE_TIMEOUT)
    expect(page.locator("#history-body")).to_contain_text("described the problem")
    page.get_by_role("button", name="Done").click()
    expect(console.row(code).locator(".c-problem")).to_have_text("Outlook crashes when I open the calendar")


def test_presence_is_marked_only_where_an_agent_joined(console: Console) -> None:
    server = console.server
    waiting = create_case(server, "Hugo", "nobody entered the code yet")
    gone = sos(server, 7, "agent closed")["case"]  # its agent asked once and is not polling
    page = console.open().login().page
    expect(console.row(waiting["code"]).locator(".presence")).to_have_count(0)
    left = console.row(gone["code"]).locator(".presence")
    expect(left).to_have_text("left")
    expect(left).to_have_attribute("title", re.compile("has left"))
    expect(console.row(gone["code"])).to_have_class(re.compile("gone"))
    assert page.locator("#queue-body .presence.online").count() == 0
