"""The session worker's rules (agent.session) with scripted fakes: consent is
the customer's alone, the server can only ask or end, failures end sharing cleanly."""

from __future__ import annotations

import threading

import pytest

from sosdesk.agent.errors import CaseGone, ServerError, ServerUnreachable
from sosdesk.agent.screen import Monitor
from sosdesk.agent.session import SessionWorker
from session_fakes import TOKEN, SessionClient


class Heard:
    """A SessionListener recording what the window would show."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_view_request(self, expert: str) -> None:
        self.events.append(("ask_view", expert))

    def on_control_request(self, expert: str) -> None:
        self.events.append(("ask_control", expert))

    def on_sharing(self, expert: str, control: bool) -> None:
        self.events.append(("sharing", expert, control))

    def on_session_end(self, reason: str) -> None:
        self.events.append(("end", reason))

    def on_chat(self, messages: list[dict]) -> None:
        self.events.append(("chat", [m.get("text") for m in messages]))

    def on_session_notice(self, key: str) -> None:
        self.events.append(("notice", key))


class StillSharer:
    """A Sharer that records being started and never captures (the worker's rules alone)."""

    made: list["StillSharer"] = []

    def __init__(self, client_factory, token, grabber_factory, monitor_index, is_current, on_failure) -> None:
        self.is_current, self.on_failure = is_current, on_failure
        self.started = False
        self.monitor = Monitor(0, 0, 0, 800, 600)
        self.frame_size = (800, 600)
        self.refreshed = 0
        StillSharer.made.append(self)

    def start(self) -> None:
        self.started = True

    def refresh(self) -> None:
        self.refreshed += 1

    def switch(self, index: int) -> None:
        pass


class Keys:
    """An InputBackend that records."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def pointer(self):
        return None

    def move(self, x, y):
        self.calls.append(("move", x, y))

    def button(self, name, down):
        self.calls.append(("button", name, down))

    def scroll(self, dx, dy):
        pass

    def key(self, kind, name, down):
        self.calls.append(("key", name, down))

    def type(self, text):
        self.calls.append(("type", text))


def inbox(seq: int, *messages: dict, view: str = "none", control: str = "none") -> dict:
    return {"seq": seq, "messages": list(messages),
            "session": {"view": view, "control": control, "viewer_attached": True, "monitor": 0}}


@pytest.fixture
def world():
    StillSharer.made = []
    client = SessionClient()
    heard = Heard()
    keys = Keys()
    worker = SessionWorker(lambda: client, TOKEN, heard, env={}, run_action=lambda action: action(),
                           sharer_factory=StillSharer, input_factory=lambda: keys,
                           grabber_factory=lambda: pytest.fail("the worker itself never captures"))
    return worker, client, heard, keys


def test_a_request_only_asks_nothing_is_shared_before_allow(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}, view="requested"))
    assert heard.events == [("ask_view", "anna")]
    assert StillSharer.made == [] and client.calls == []
    worker.allow_view()
    assert client.named("consent") == [("consent", "view", True)]
    [sharer] = StillSharer.made
    assert sharer.started and sharer.is_current(sharer)
    assert heard.events[-1] == ("sharing", "anna", False)


def test_deny_answers_and_shares_nothing(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.deny_view()
    worker.allow_view()  # too late: the question is gone
    assert client.named("consent") == [("consent", "view", False)]
    assert StillSharer.made == []


def test_the_server_saying_allowed_changes_nothing_and_is_corrected(world) -> None:
    worker, client, heard, _ = world
    answer = inbox(4, {"seq": 3, "type": "control_request", "expert": "anna"},
                   {"seq": 4, "type": "input", "events": [{"t": "text", "text": "rm -rf"}]},
                   view="allowed", control="allowed")
    worker.handle(answer)
    worker.reconcile(answer["session"], worker.changes)
    assert StillSharer.made == [] and heard.events == []
    assert client.named("stop") == [("stop",)]  # the agent's word wins: the server hears stop


def test_control_is_asked_separately_and_input_goes_in_only_while_allowed(world) -> None:
    worker, client, heard, keys = world
    text = {"type": "input", "events": [{"t": "text", "text": "hi"}]}
    worker.handle(inbox(1, {"seq": 1, "type": "control_request", "expert": "anna"}))
    assert heard.events == []  # not viewing: no control question
    worker.handle(inbox(2, {"seq": 2, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    worker.handle(inbox(3, {"seq": 3, **text}, {"seq": 4, "type": "control_request", "expert": "anna"}))
    assert keys.calls == [] and heard.events[-1] == ("ask_control", "anna")
    worker.handle(inbox(5, {"seq": 5, **text}))
    assert keys.calls == []  # asked, not yet allowed
    worker.allow_control()
    assert client.named("consent")[-1] == ("consent", "control", True)
    assert heard.events[-1] == ("sharing", "anna", True)
    worker.handle(inbox(6, {"seq": 6, **text}))
    assert keys.calls == [("type", "hi")]
    worker.handle(inbox(7, {"seq": 7, "type": "control_released"}, {"seq": 8, **text}))
    assert keys.calls == [("type", "hi")] and heard.events[-1] == ("sharing", "anna", False)


def test_stop_ends_viewing_and_control_at_once_and_tells_the_server(world) -> None:
    worker, client, heard, keys = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    worker.handle(inbox(2, {"seq": 2, "type": "control_request", "expert": "anna"}))
    worker.allow_control()
    [sharer] = StillSharer.made
    worker.stop_sharing()
    assert not sharer.is_current(sharer) and not worker.controlling
    assert client.named("stop") == [("stop",)] and heard.events[-1] == ("end", "stopped")
    worker.handle(inbox(3, {"seq": 3, "type": "input", "events": [{"t": "text", "text": "x"}]}))
    assert keys.calls == []


def test_the_expert_leaving_withdraws_a_question_not_yet_answered(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(2, {"seq": 1, "type": "view_request", "expert": "anna"}, {"seq": 2, "type": "disconnect"}))
    assert heard.events == [("ask_view", "anna"), ("end", "disconnected")]
    worker.allow_view()
    assert StillSharer.made == [] and client.calls == []


def test_a_case_that_ends_ends_the_session_with_its_own_words(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    worker.handle(inbox(2, {"seq": 2, "type": "disconnect", "reason": "case_closed"}))
    assert heard.events[-1] == ("end", "ended") and not worker.viewing


def test_a_new_request_is_a_new_question(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    [first] = StillSharer.made
    worker.handle(inbox(2, {"seq": 2, "type": "view_request", "expert": "ben"}))
    assert not first.is_current(first) and heard.events[-1] == ("ask_view", "ben")


def test_catching_up_asks_only_a_request_still_open(world) -> None:
    worker, client, heard, keys = world
    old = [{"seq": 1, "type": "view_request", "expert": "anna"},
           {"seq": 2, "type": "chat", "message": {"id": 1, "text": "hello"}},
           {"seq": 3, "type": "input", "events": [{"t": "text", "text": "x"}]}]
    worker.handle(inbox(3, *old, view="denied"), synced=False)
    assert heard.events == [("chat", ["hello"])]
    worker.handle(inbox(4, *old, {"seq": 4, "type": "view_request", "expert": "ben"}, view="requested"),
                  synced=False)
    assert heard.events[-1] == ("ask_view", "ben") and keys.calls == []


def test_the_server_forgetting_the_session_ends_it_unless_consent_changed_meanwhile(world) -> None:
    worker, client, heard, _ = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    before = worker.changes
    worker.allow_view()
    worker.reconcile({"view": "requested", "control": "none"}, before)  # asked before the Allow
    assert worker.viewing
    worker.reconcile({"view": "none", "control": "none"}, worker.changes)
    assert not worker.viewing and heard.events[-1] == ("end", "ended")


def test_wayland_says_so_and_never_asks(world) -> None:
    _, client, heard, _ = world
    worker = SessionWorker(lambda: client, TOKEN, heard, env={"XDG_SESSION_TYPE": "wayland"},
                           run_action=lambda action: action(), sharer_factory=StillSharer)
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    assert heard.events == [("notice", "wayland")]
    assert client.named("screen_info") == [("screen_info", {"monitors": [], "monitor": 0, "wayland": True})]
    worker.allow_view()
    assert StillSharer.made == []


def test_a_failed_consent_shares_nothing_and_says_so(world) -> None:
    worker, client, heard, _ = world
    client.fail["consent"] = ServerUnreachable("down")
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    assert StillSharer.made == []
    assert ("notice", "consent_failed") in heard.events and not worker.viewing


def test_chat_both_ways(world) -> None:
    worker, client, heard, _ = world
    worker.send_chat("my printer")
    worker.handle(inbox(1, {"seq": 1, "type": "chat", "message": {"id": 10, "text": "on it"}}))
    assert client.named("chat") == [("chat", "my printer")]
    assert heard.events == [("chat", ["my printer"]), ("chat", ["on it"])]


def test_the_inbox_loop_ends_sharing_when_the_server_goes_and_backs_off(world) -> None:
    _, client, heard, _ = world
    waits: list[int] = []
    stop = threading.Event()
    client.answers = [inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}, view="requested"),
                      ServerUnreachable("gone"), inbox(0, view="none"), ServerError(503, "busy", "busy"),
                      inbox(0, view="none"), ServerError(409, "case_closed", "closed")]
    worker = SessionWorker(lambda: client, TOKEN, heard, env={}, stop=stop, run_action=lambda a: a(),
                           sharer_factory=StillSharer, backoff=lambda n: waits.append(n) or 0.0)
    real_handle = worker.handle

    def allow_on_first(answer, synced=True):
        real_handle(answer, synced)
        if answer["seq"] == 1:
            worker.allow_view()
    worker.handle = allow_on_first  # type: ignore[method-assign]
    worker.run()
    assert heard.events == [("ask_view", "anna"), ("sharing", "anna", False), ("end", "lost")]
    assert waits == [0, 0]  # a back-off after each failure, of at least MIN_DELAY (the back-off said 0)
    inbox_calls = [c[1:] for c in client.named("inbox")]
    assert inbox_calls == [(0, 0), (1, 25), (0, 0), (0, 25), (0, 0), (0, 25)]  # caught up anew after each


def test_only_one_process_answers_the_session(tmp_path, world) -> None:
    from sosdesk.agent.filelock import try_lock

    _, client, heard, _ = world
    held = try_lock(tmp_path / "session.lock")
    stop = threading.Event()
    worker = SessionWorker(lambda: client, TOKEN, heard, env={}, stop=stop, lock_path=tmp_path / "session.lock")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        thread.join(0.3)
        assert thread.is_alive() and client.calls == []  # waiting for the lock, not polling
    finally:
        stop.set()
        thread.join(5)
        held.release()
    assert not thread.is_alive()


# -- the tray's watcher ---------------------------------------------------------------------

def test_the_tray_hears_each_view_request_once_and_knows_whether_a_window_answers(tmp_path) -> None:
    from sosdesk.agent.filelock import try_lock
    from sosdesk.agent.session_watch import RequestWatcher

    ask = {"seq": 5, "type": "view_request", "expert": "anna"}
    client = SessionClient([inbox(5, ask, view="requested"), inbox(5, ask, view="requested"),
                            inbox(6, {"seq": 6, "type": "chat", "message": {}}, view="allowed"),
                            ServerUnreachable("restart"),
                            inbox(7, ask, {"seq": 7, "type": "view_request", "expert": "ben"}, view="requested"),
                            CaseGone(404, "gone", "gone")])
    heard: list[tuple[str, bool]] = []
    lock = tmp_path / "session.lock"
    watcher = RequestWatcher(lambda: client, TOKEN, lambda expert, open_: heard.append((expert, open_)),
                             lock, backoff=lambda n: 0.0)
    held = None

    def on_request(expert: str, window_open: bool) -> None:
        nonlocal held
        heard.append((expert, window_open))
        held = held or try_lock(lock)  # the window opens and takes the lock
    watcher.on_request = on_request
    watcher.run()
    held.release()
    assert heard == [("anna", False), ("ben", True)]
    assert [c[1:] for c in client.named("inbox")] == [(0, 0), (5, 25), (5, 25), (6, 25), (0, 0), (7, 25)]


def test_input_that_overtakes_the_answer_to_allow_control_goes_in(world) -> None:
    """The server relays input as soon as it has the customer's Allow; that input can reach the
    inbox before the answer to the Allow's post reaches the agent (the expert's first click)."""
    worker, client, heard, keys = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    worker.handle(inbox(2, {"seq": 2, "type": "control_request", "expert": "anna"}))
    consent = client.consent

    def overtaken(token: str, what: str, allow: bool) -> dict:
        answer = consent(token, what, allow)
        worker.handle(inbox(3, {"seq": 3, "type": "input", "events": [{"t": "text", "text": "hi"}]},
                            view="allowed", control="allowed"))
        return answer

    client.consent = overtaken
    worker.allow_control()
    assert keys.calls == [("type", "hi")]
    assert heard.events[-1] == ("sharing", "anna", True)


def test_a_failed_answer_to_control_gives_no_control(world) -> None:
    worker, client, heard, keys = world
    worker.handle(inbox(1, {"seq": 1, "type": "view_request", "expert": "anna"}))
    worker.allow_view()
    worker.handle(inbox(2, {"seq": 2, "type": "control_request", "expert": "anna"}))
    client.fail["consent"] = ServerUnreachable("down")
    worker.allow_control()
    worker.handle(inbox(3, {"seq": 3, "type": "input", "events": [{"t": "text", "text": "hi"}]}))
    assert keys.calls == [] and not worker.controlling and worker.viewing
    assert heard.events[-1] == ("notice", "consent_failed")
