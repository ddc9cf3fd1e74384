"""What stops a build, without PyInstaller: a wrong token or no server, bad inputs and
the server's refusals found before the base is built, and a failed write that leaves
nothing behind (and revokes the module it registered).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sosdesk.builder import cli
from builder_helpers import TOKEN_ENV, files_in, inputs, run_builder  # noqa: F401 (a fixture)


def test_a_wrong_token_or_no_server_fails_cleanly(live_server, inputs):
    common = ["--company", "ACME", "--base", str(inputs["base"]), "--out", str(inputs["out"])]
    wrong = run_builder(*common, "--server", live_server.url, token="not-the-token",
                        cwd=inputs["tmp"])
    assert wrong.returncode == 1 and "refused the API token" in wrong.stderr
    assert "not-the-token" not in wrong.stderr + wrong.stdout
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nobody = run_builder(*common, "--server", f"http://127.0.0.1:{port}", token="tok",
                         cwd=inputs["tmp"])
    assert nobody.returncode == 1 and "cannot reach the server" in nobody.stderr
    assert "Traceback" not in wrong.stderr + nobody.stderr
    assert files_in(inputs["out"]) == []


@pytest.fixture
def watched(monkeypatch, inputs):
    """Records each base build (PyInstaller, faked by the test's base) and each server request."""
    import sosdesk.builder.base as base_module
    from sosdesk.builder.server import ModuleClient

    seen: dict[str, list] = {"builds": [], "requests": []}
    real_call = ModuleClient._call

    def ensure_base(**kwargs):
        seen["builds"].append(kwargs)
        return inputs["base"]

    def call(self, method, path, *args, **kwargs):
        seen["requests"].append((method, path))
        return real_call(self, method, path, *args, **kwargs)

    monkeypatch.setattr(base_module, "ensure_base", ensure_base)
    monkeypatch.setattr(ModuleClient, "_call", call)
    return seen


@pytest.mark.parametrize("extra", [["--group=-x"], ["--group=."], ["--group= x"],
                                   ["--company=" + "x" * 101], ["--welcome=" + "x" * 1001]],
                         ids=["-x", ".", "space x", "long company", "long welcome"])
def test_a_bad_input_is_refused_before_any_request_or_build(live_server, inputs, watched,
                                                            monkeypatch, capsys, extra):
    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    code = cli.main(["--company=ACME", f"--server={live_server.url}", f"--out={inputs['out']}",
                     *extra])
    assert code == 2, capsys.readouterr().err
    assert watched == {"builds": [], "requests": []}
    assert live_server.api("GET", "/api/v1/modules").json()["modules"] == []


def test_what_the_server_refuses_is_asked_before_the_base_is_built(live_server, inputs, watched,
                                                                   monkeypatch, capsys):
    module = live_server.api("POST", "/api/v1/modules", json={"name": "ACME", "groupname": "team-1"}).json()
    common = ["--company=ACME", f"--server={live_server.url}", f"--out={inputs['out']}"]
    refusals = [
        ("not-the-token", [], 1, "refused the API token"),
        (live_server.token, ["--module-id=m0000"], 1, "no such module"),
        (live_server.token, [f"--module-id={module['module_id']}", "--group=team-2"], 2,
         "puts its cases in group 'team-1'"),
    ]
    for token, extra, expected_code, expected in refusals:
        monkeypatch.setenv(TOKEN_ENV, token)
        assert cli.main([*common, *extra]) == expected_code
        assert expected in capsys.readouterr().err
        assert watched["builds"] == [], extra
    assert files_in(inputs["out"]) == []

    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    watched["requests"].clear()
    assert cli.main([*common, "--group=team-2", "-q"]) == 0, capsys.readouterr().err
    assert len(watched["builds"]) == 1
    # The token is checked before the build; the module is registered after it, so a
    # failed build leaves none behind.
    assert watched["requests"] == [("GET", "/api/v1/me"), ("POST", "/api/v1/modules")]


def test_a_failed_write_leaves_nothing_and_revokes_the_new_module(live_server, inputs,
                                                                  monkeypatch, capsys):
    import sosdesk.builder.stamping as stamping_module

    def disk_full(base, out, branding):
        Path(out).write_bytes(b"half an executable")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stamping_module, "write_stamp", disk_full)
    monkeypatch.setenv(TOKEN_ENV, live_server.token)
    code = cli.main(["--company", "ACME", "--server", live_server.url, "--base",
                     str(inputs["base"]), "--out", str(inputs["out"]), "-q"])
    assert code == 1
    assert "No space left on device" in capsys.readouterr().err
    assert files_in(inputs["out"]) == []
    modules = live_server.api("GET", "/api/v1/modules").json()["modules"]
    assert len(modules) == 1 and modules[0]["active"] is False
