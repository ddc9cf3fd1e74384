"""A scripted stand-in for the session routes of the agent's client, shared by the session
worker's and the sharer's tests."""

from __future__ import annotations

from typing import Any

from sosdesk.agent.screen import unpack_frame

TOKEN = "tok"


class SessionClient:
    """The session routes of agent.client.Client, scripted: inbox answers are popped in order."""

    def __init__(self, inbox: list | None = None) -> None:
        self.answers = list(inbox or [])
        self.calls: list[tuple] = []
        self.fail: dict[str, BaseException] = {}

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            raise self.fail[name]

    def inbox(self, token: str, since: int, wait: int) -> dict:
        self._record("inbox", since, wait)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def consent(self, token: str, what: str, allow: bool) -> dict:
        self._record("consent", what, allow)
        return {}

    def stop_session(self, token: str, read_timeout: float = 10) -> dict:
        self._record("stop")
        return {}

    def screen_info(self, token: str, info: dict) -> dict:
        self._record("screen_info", info)
        return {}

    def upload_frame(self, token: str, frame: bytes) -> dict:
        self._record("frame", unpack_frame(frame)[0])
        return {"ack": 1}

    def send_chat(self, token: str, text: str) -> dict:
        self._record("chat", text)
        return {"message": {"id": 9, "from": "customer", "text": text}}

    def chat(self, token: str, since: int = 0) -> dict:
        self._record("chat_history", since)
        return {"messages": []}

    def named(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[0] == name]
