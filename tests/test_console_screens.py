"""The console as the README and docs/ show it: a help desk's morning queue at 1280x800
and at 400 px, in English and German, and a case's detail. Each screen is checked for
what the issue asked of it (the waiting customers first, the total, one line per case,
no sideways scrolling, the module by name, the customer's own words) and saved to
test-artifacts/docs-*.png; the pictures in docs/ are copies of these, looked at first."""

from __future__ import annotations

import pytest

from console_helpers import Console, browser, create_case, establish, expect, sos  # noqa: F401 (fixtures)
from conftest import LiveServer

pytestmark = pytest.mark.slow


def backdate(server: LiveServer, code: str, minutes: int) -> None:
    """Make a case *minutes* older, as if it had come in earlier this morning."""
    store = server.store
    digits = code.replace("s", "").replace("-", "")
    with store._lock:  # the server's own connection: no second writer on the file
        # Every time of the case moves (NULL stays NULL), so "time left" agrees with "waiting".
        store._db.execute("UPDATE cases SET created_at = created_at - :s, valid_until = valid_until - :s, "
                          "customer_started_at = customer_started_at - :s, "
                          "expert_started_at = expert_started_at - :s, assigned_at = assigned_at - :s "
                          "WHERE code = :code", {"s": minutes * 60, "code": digits})
        store._db.execute("UPDATE case_events SET at = at - ? WHERE case_id = (SELECT id FROM cases WHERE code = ?)",
                          (minutes * 60, digits))


def morning(server: LiveServer) -> dict[str, str]:
    """SOS requests from ACME's agent and cases made by hand, some waiting for a while."""
    module = server.api("POST", "/api/v1/modules", json={"name": "ACME QuickSupport", "groupid": "acme"}).json()
    server.add_expert("bob")  # u2
    codes: dict[str, str] = {}
    for n, (host, user, problem, minutes) in enumerate([
            ("LAGER-02", "m.wagner", "Cannot print delivery notes from the warehouse PC", 65),
            ("RECEPTION", "empfang", "Screen stays black after the Windows update", 12),
            ("ACC-PC-12", "j.schmidt", "Excel macro for the month-end report stops with error 1004", 7),
            ("SALES-NB-07", "t.becker", "", 2)]):
        made = sos(server, 10 + n, problem, hostname=host, user=user, module_id=module["module_id"])
        codes[user] = made["case"]["code"]
        backdate(server, made["case"]["code"], minutes)
        if user != "empfang":  # their agents are there (a request marks one online for 40 s); one left
            assert server.api("GET", "/api/v1/customer/case", token=made["token"]).status_code == 200
    assert server.api("PUT", "/api/v1/customer/case", token=made["token"],  # typed in the agent's window
                      json={"description": "VPN asks for the password again and again"}).status_code == 200
    for name, email, problem, group, minutes in [
            ("Bob Meyer", "bob.meyer@example.com", "New laptop needs the ERP client installed", "office", 95),
            ("Carla Schulz", "c.schulz@example-holding.com", "Shared calendar not visible in Outlook", "office",
             41),
            ("Dieter Roth", "", "Call back about the printer contract", "office", 180)]:
        made_by_hand = create_case(server, name, problem, email=email, groupid=group)
        codes[name] = made_by_hand["code"]
        backdate(server, made_by_hand["code"], minutes)
    assert server.api("PUT", f"/api/v1/sessions/{codes['Carla Schulz']}",
                      json={"assigned_userid": "u2"}).status_code == 204
    helped = sos(server, 30, "Scanner not found after moving desks", hostname="HR-PC-03", user="k.wolf",
                 module_id=module["module_id"])
    establish(server, helped["case"]["code"], helped["token"])
    codes["k.wolf"] = helped["case"]["code"]
    return codes


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_queue_and_a_case_as_the_docs_show_them(browser, live_server: LiveServer, language: str) -> None:
    codes = morning(live_server)
    suffix = "" if language == "en" else "-de"
    console = Console(browser, live_server)
    try:
        page = console.open().login().page
        if language == "de":
            page.get_by_label("Language").select_option("de")
        rows = page.locator("#queue-body tr")
        expect(rows).to_have_count(8)
        # The customer waiting longest first: the SOS from the warehouse an hour ago, then the
        # other customers waiting, then the cases made by hand (oldest first).
        expect(rows.first).to_contain_text(codes["m.wagner"])
        expect(rows.first).to_contain_text({"en": "waiting 1 h 5 min", "de": "wartet 1 h 5 min"}[language])
        expect(rows.nth(4)).to_contain_text(codes["Dieter Roth"])
        expect(page.locator("#page-label")).to_contain_text({"en": "of 8", "de": "von 8"}[language])
        heights = rows.evaluate_all("rows => rows.map(r => r.offsetHeight)")
        assert max(heights) == min(heights), heights
        cut = page.locator("#queue-body .c-created time, #queue-body .c-left time, #queue-body .c-status .cv"
                           ).evaluate_all("els => els.filter(e => e.closest('.cv').scrollWidth > "
                                          "e.closest('.cv').clientWidth).map(e => e.textContent)")
        assert cut == [], f"cut off: {cut}"  # a long wait in bold, "In Bearbeitung": whole
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        page.mouse.move(640, 780)  # no hover highlight on a row
        console.shot(f"docs-console-queue{suffix}.png")

        console.row(codes["t.becker"]).get_by_role("button", name={
            "en": f"Details of case {codes['t.becker']}", "de": f"Details zu Fall {codes['t.becker']}"}[language]
        ).click()
        detail = page.locator("#detail-dialog")
        expect(detail).to_contain_text("ACME QuickSupport")  # the module by name
        expect(detail).to_contain_text("VPN asks for the password again and again")  # the customer's words
        detail.evaluate("d => d.scrollTop = 0")
        console.shot(f"docs-console-detail{suffix}.png")
        assert console.errors == [] and console.dialogs == []
    finally:
        console.context.close()

    narrow = Console(browser, live_server, width=400, height=860)
    try:
        page = narrow.open().login().page
        if language == "de":
            page.get_by_role("button", name="Settings and log-out").click()
            page.get_by_label("Language").select_option("de")
        expect(page.locator("#queue-body tr")).to_have_count(8)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        assert page.locator(".topbar").bounding_box()["height"] <= 60
        narrow.shot(f"docs-console-queue-narrow{suffix}.png")
        assert narrow.errors == [] and narrow.dialogs == []
    finally:
        narrow.context.close()
