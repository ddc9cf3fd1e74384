"""The end_customer_link: publishing an agent (PUT /api/v1/modules/{id}/agent), the page
for the customer and the download, against a real server. The agents here are the
small fake base with a real branding stamp (tests/test_builder_e2e.py publishes and
runs a real PyInstaller build).

As an attacker would try: the page tells nothing but the company and the code,
wrong and closed codes cost a try from the join route's allowance, and nothing
but a stamped agent of the module itself is ever kept or served.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from builder_helpers import fake_base, image
from conftest import LiveServer
from sosdesk.common.branding import Branding
from sosdesk.common.stamp import write_stamp

LINUX_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
WINDOWS_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/140.0"


def agent(tmp_path: Path, module_id: str, company: str = "ACME Support", header: bytes = b"\x7fELF",
          logo: bytes | None = None) -> Path:
    """A personalized agent as sos-builder makes it (a fake base, a real stamp)."""
    base = fake_base(tmp_path / f"base-{header[:2].hex()}", header)
    out = tmp_path / f"agent-{module_id}-{header[:2].hex()}"
    write_stamp(base, out, Branding(company_name=company, server_url="https://support.example.com",
                                    module_id=module_id, logo_png=logo))
    return out


def publish(live: LiveServer, module_id: str, path: Path, token: str | None = "expert") -> requests.Response:
    with open(path, "rb") as body:
        return live.api("PUT", f"/api/v1/modules/{module_id}/agent", token=token, data=body)


@pytest.fixture
def published(live_server: LiveServer, tmp_path: Path) -> dict:
    """A module in group acme with a Linux and a Windows agent published, and a case there."""
    module = live_server.api("POST", "/api/v1/modules",
                             json={"name": "ACME Support", "groupname": "acme"}).json()
    logo = image(tmp_path / "logo.png", (64, 48)).read_bytes()
    linux = agent(tmp_path, module["module_id"], logo=logo)
    windows = agent(tmp_path, module["module_id"], header=b"MZ")
    for path in (linux, windows):
        answer = publish(live_server, module["module_id"], path)
        assert answer.status_code == 200, answer.text
    case = live_server.api("POST", "/api/v1/sessions", json={"groupname": "acme"}).json()
    return {"module": module, "linux": linux, "windows": windows, "case": case, "logo": logo}


def test_the_page_shows_the_company_logo_code_and_the_download(live_server, published) -> None:
    case = published["case"]
    page = requests.get(case["end_customer_link"], headers={"User-Agent": WINDOWS_UA}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "<h1>ACME Support</h1>" in html and case["code"] in html
    assert 'src="data:image/png;base64,' in html  # the logo from the agent's own stamp
    first = re.search(r'class="download" data-os="(\w+)" href="([^"]+)"', html)
    assert first.group(1) == "windows"  # the visitor's system first, the others below
    assert f'data-os="linux" href="/join/{case["code"]}/download/linux"' in html
    german = requests.get(case["end_customer_link"], headers={"Accept-Language": "de-DE,de;q=0.9"},
                          timeout=10)
    assert "Ihr Sitzungscode" in german.text and 'lang="de"' in german.text


def test_the_download_is_the_agent_named_with_the_code(live_server, published) -> None:
    code = published["case"]["code"]
    for target, suffix in (("linux", ""), ("windows", ".exe")):
        answer = requests.get(f"{live_server.url}/join/{code}/download/{target}", timeout=10)
        assert answer.status_code == 200
        assert answer.content == published[target].read_bytes()
        assert answer.headers["Content-Disposition"] == (
            f'attachment; filename="ACME-Support-QuickSupport-{code}{suffix}"')
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert int(answer.headers["Content-Length"]) == len(answer.content)
    missing = requests.get(f"{live_server.url}/join/{code}/download/macos", timeout=10)
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]


def test_the_page_tells_nothing_but_company_and_code(live_server, published) -> None:
    case = published["case"]
    live_server.api("PUT", f"/api/v1/sessions/{case['code']}", json={
        "description": "SECRET-PROBLEM", "end_customer": {"name": "Secret Bob", "email": "bob@secret.x"},
        "waiting_message": "SECRET-WAIT", "custom_api": "SECRET-API", "assigned_userid": "u1"})
    html = requests.get(case["end_customer_link"], timeout=10).text
    for secret in ("SECRET", "Secret Bob", "bob@secret", "anna", published["module"]["module_id"]):
        assert secret not in html
    # Closed: the same answer as a code never used.
    live_server.api("PUT", f"/api/v1/sessions/{case['code']}", json={"state": "closed"})
    closed = requests.get(case["end_customer_link"], timeout=10)
    never = requests.get(f"{live_server.url}/join/s00-000-001", timeout=10)
    assert closed.status_code == never.status_code == 404 and closed.text == never.text
    assert requests.get(f"{live_server.url}/join/{case['code']}/download/linux",
                        timeout=10).status_code == 404


def test_guessing_codes_is_limited_like_joining(live_server, published) -> None:
    """Ten wrong codes from an address, then 429 with Retry-After, for the page, the
    download and the join route alike (one allowance); the right code costs nothing."""
    right = published["case"]["end_customer_link"]
    for _ in range(3):
        assert requests.get(right, timeout=10).status_code == 200
    for n in range(10):
        target = (f"/join/s00-000-{n:03d}" if n % 2 else f"/join/s00-000-{n:03d}/download/linux")
        assert requests.get(live_server.url + target, timeout=10).status_code == 404
    limited = requests.get(f"{live_server.url}/join/s00-000-999", timeout=10)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "text/html" in limited.headers["Content-Type"]
    assert requests.get(right, timeout=10).status_code == 429  # the allowance is the address's
    join = live_server.api("POST", "/api/v1/customer/join", token=None,
                           json={"code": published["case"]["code"], "device_id": "device-guess-00001"})
    assert join.status_code == 429


def test_a_case_of_a_group_without_an_agent_says_whom_to_ask(live_server, published) -> None:
    other = live_server.api("POST", "/api/v1/sessions", json={"groupname": "other"}).json()
    page = requests.get(other["end_customer_link"], timeout=10)
    assert page.status_code == 200 and other["code"] in page.text
    assert "download" not in page.text and "ACME" not in page.text  # another company's agent: no


def test_a_revoked_modules_agent_is_offered_no_more(live_server, published) -> None:
    live_server.api("DELETE", f"/api/v1/modules/{published['module']['module_id']}")
    page = requests.get(published["case"]["end_customer_link"], timeout=10).text
    assert 'class="download"' not in page
    again = publish(live_server, published["module"]["module_id"], published["linux"])
    assert (again.status_code, again.json()["error"]) == (403, "module_revoked")


def test_only_a_stamped_agent_of_the_module_itself_is_kept(live_server, tmp_path) -> None:
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME"}).json()
    other = live_server.api("POST", "/api/v1/modules", json={"name": "Globex"}).json()
    plain = tmp_path / "plain"
    plain.write_bytes(b"\x7fELF" + b"\0" * 5000)
    text = tmp_path / "text.exe"
    text.write_bytes(b"just some text")
    cases = [(plain, "not_an_agent"), (text, "not_an_agent"),
             (agent(tmp_path, other["module_id"]), "wrong_module")]
    for path, code in cases:
        answer = publish(live_server, module["module_id"], path)
        assert (answer.status_code, answer.json()["error"]) == (400, code), answer.text
    unknown = publish(live_server, "m0000000000000000", agent(tmp_path, module["module_id"]))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "module_not_found")
    anonymous = publish(live_server, module["module_id"], agent(tmp_path, module["module_id"]),
                        token=None)
    assert anonymous.status_code == 401
    kept = tmp_path / "agents" / module["module_id"]
    assert not kept.exists() or [p.name for p in kept.iterdir()] == []  # nothing, no leftovers


def test_a_new_agent_replaces_the_old_one_whole(live_server, tmp_path) -> None:
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME"}).json()
    first, second = (agent(tmp_path, module["module_id"], company=name) for name in ("ACME", "ACME 2"))
    for path in (first, second):
        facts = publish(live_server, module["module_id"], path).json()
        assert facts["size"] == path.stat().st_size and facts["target_os"] == "linux"
    folder = tmp_path / "agents" / module["module_id"]
    assert sorted(p.suffix for p in folder.iterdir()) == [".bin", ".json"]  # the old file is gone
    case = live_server.api("POST", "/api/v1/sessions", json={"groupid": module["groupid"]}).json()
    download = requests.get(f"{live_server.url}/join/{case['code']}/download/linux", timeout=10)
    assert download.content == second.read_bytes()
    assert "ACME-2-QuickSupport" in download.headers["Content-Disposition"]
