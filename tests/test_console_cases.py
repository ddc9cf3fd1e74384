"""Cases in a real browser: made by hand (the code shown and copied), selected and
deleted after a confirmation, connected, started, closed, and their history."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from console_helpers import CODE, LIVE_TIMEOUT, Console, browser, console, create_case, expect, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_create_case_by_hand_shows_the_code(console: Console) -> None:
    console.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=console.server.url)
    page = console.open().login().page
    page.get_by_role("button", name="New case").click()
    dialog = page.locator("#create-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Customer name")).to_be_focused()
    dialog.get_by_label("Customer name").fill("Frank Huber")
    dialog.get_by_label("E-mail").fill("not-an-address")
    dialog.get_by_label("Description").fill("Cannot reach the shared drive")
    dialog.get_by_label("Group").fill("office")
    page.get_by_label("Assignee").select_option(label="anna")
    page.get_by_label("Valid for").select_option(label="4 hours")
    console.shot("console-create-dialog.png")
    page.get_by_role("button", name="Create case").click()
    # The server's validation shows at the field.
    expect(dialog.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#c-email-error")).to_contain_text("e-mail")
    dialog.get_by_label("E-mail").fill("frank@example.com")
    page.get_by_role("button", name="Create case").click()

    code = page.locator("#created-code")
    expect(code).to_be_visible()
    text = code.text_content()
    assert CODE.match(text), text
    console.shot("console-create-code.png")
    page.get_by_role("button", name="Copy code").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == text

    case = console.server.api("GET", f"/api/v1/sessions/{text}").json()
    assert case["end_customer"] == {"name": "Frank Huber", "email": "frank@example.com"}
    assert case["groupname"] == "office" and case["assigned_name"] == "anna"
    assert case["created_by"] == "expert:1" and case["status"] == "new"
    hours = (datetime.fromisoformat(case["valid_until"].replace("Z", "+00:00"))
             - datetime.now(timezone.utc)).total_seconds() / 3600
    assert 3.9 < hours <= 4.0

    page.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(console.row(text)).to_contain_text("Frank Huber")


def test_select_two_and_delete_after_confirmation(console: Console) -> None:
    server = console.server
    cases = [create_case(server, f"Customer {i}", f"problem {i}") for i in range(3)]
    page = console.open().login().page
    for case in cases[:2]:
        console.row(case["code"]).get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected (2)").click()

    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete 2 cases?")
    page.keyboard.press("Escape")  # cancelling deletes nothing
    expect(dialog).to_be_hidden()
    for case in cases:
        assert server.api("GET", f"/api/v1/sessions/{case['code']}").status_code == 200

    page.get_by_role("button", name="Delete selected (2)").click()
    expect(dialog).to_contain_text("Delete 2 cases?")
    requests_seen: list = []
    page.on("request", lambda r: requests_seen.append(r) if "/api/v1/sessions" in r.url
            and r.method != "GET" else None)
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#flash")).to_have_text("2 cases deleted.")
    # One request, with the login session's CSRF token.
    assert [(r.method, r.url.split("/api/v1")[1]) for r in requests_seen] == \
        [("POST", "/sessions/delete")]
    csrf = page.evaluate("fetch('/api/v1/me').then(r => r.json()).then(d => d.csrf_token)")
    assert requests_seen[0].headers.get("x-csrf-token") == csrf
    assert sorted(requests_seen[0].post_data_json["codes"]) == sorted(c["code"] for c in cases[:2])
    for case in cases[:2]:
        expect(console.row(case["code"])).to_have_count(0)
        response = server.api("GET", f"/api/v1/sessions/{case['code']}")
        assert response.status_code == 404, response.text
    expect(console.row(cases[2]["code"])).to_be_visible()
    expect(page.locator("#delete-btn")).to_be_disabled()


def test_connect_customer_start_close_and_history(console: Console) -> None:
    server = console.server
    made = sos(server, 3, "Mail client will not start")
    code, token = made["case"]["code"], made["token"]
    page = console.open().login().page
    row = console.row(code)
    row.get_by_role("button", name="Connect").click()
    expect(page.locator("#session-view")).to_be_visible()
    page.get_by_role("button", name="Back to the queue").click()
    expect(row.locator(".status")).to_have_text("Pending")
    expect(row).to_contain_text("waiting for the customer")
    expect(row).to_contain_text("anna")
    expect(row.get_by_role("button", name="Connect")).to_have_count(0)

    # The customer starts: still pending (nobody sees a screen yet).
    response = server.api("POST", "/api/v1/customer/case/start", token=token)
    assert response.status_code == 200, response.text
    expect(row.locator(".status")).to_have_text("Pending", timeout=LIVE_TIMEOUT)
    # The customer allows viewing while the expert's session view is open: in progress.
    row.get_by_role("button", name="Session").click()
    allowed = server.api("POST", "/api/v1/customer/session/consent", token=token,
                         json={"what": "view", "allow": True})
    assert allowed.status_code == 200, allowed.text
    expect(page.locator("#session-status")).to_have_text("Viewing the customer's screen")
    page.get_by_role("button", name="Back to the queue").click()
    expect(row.locator(".status")).to_have_text("In progress", timeout=LIVE_TIMEOUT)
    expect(row).not_to_contain_text("waiting for the customer")

    row.get_by_role("button", name="Close").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(f"Close case {code}?")
    dialog.get_by_role("button", name="Close case").click()
    expect(row).to_have_count(0)  # the queue shows the open cases: a closed one leaves it
    page.locator("#filter-status").select_option("closed")
    expect(row.locator(".status")).to_have_text("Closed")
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "closed"

    row.get_by_role("button", name=f"Details of case {code}").focus()
    page.keyboard.press("Enter")  # keyboard only
    detail = page.locator("#detail-dialog")
    expect(detail).to_be_visible()
    history = detail.locator("#history-body tr")
    expected = [("Customer", "created", "New"), ("Expert anna", "started the session", "New → Pending"),
                ("Expert anna", "asked to see the screen", "Pending"),
                ("Customer", "started the session", "Pending"),
                ("Customer", "allowed viewing the screen", "Pending"),
                ("Customer", "session established: both connected", "Pending → In progress"),
                ("Expert anna", "closed", "In progress → Closed")]
    expect(history).to_have_count(len(expected))
    for n, (who, what, change) in enumerate(expected):
        expect(history.nth(n).locator("td").nth(1)).to_have_text(who)
        expect(history.nth(n).locator("td").nth(2)).to_have_text(what)
        expect(history.nth(n).locator("td").nth(3)).to_have_text(change)
    console.shot("console-detail.png")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
