// A chat panel (the case's detail for pre-chat, the session view during the
// session): the messages as text, newest at the bottom, and a form to send one.

import { el, errorText } from "./dom.js";
import { formatTime, t } from "./i18n.js";

export class ChatPanel {
  /** *send(text)* posts a message and resolves to it; the panel shows it then. */
  constructor({ list, form, input, error, send }) {
    this.list = list;
    this.input = input;
    this.error = error;
    this.send = send;
    this.messages = new Map();
    form.addEventListener("submit", (event) => this.submit(event));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  /** The newest message id shown (0 for none). */
  get lastId() {
    return Math.max(0, ...this.messages.keys());
  }

  /** Show exactly these messages. */
  set(messages) {
    this.messages.clear();
    this.add(messages);
  }

  /** Add messages not shown yet (by id), in order. */
  add(messages) {
    let added = false;
    for (const message of messages) {
      if (!this.messages.has(message.id)) {
        this.messages.set(message.id, message);
        added = true;
      }
    }
    if (added || !this.list.children.length) this.render();
  }

  render() {
    const sorted = [...this.messages.values()].sort((a, b) => a.id - b.id);
    this.list.replaceChildren(...(sorted.length ? sorted.map((m) => el("li", {
      class: "chat-message from-" + m.from, dataset: { id: String(m.id), from: m.from },
    },
    el("span", { class: "chat-who" },
      m.from === "expert" ? m.name || t("who.expertShort") : m.name || t("who.customer")),
    el("time", { class: "chat-at", datetime: m.at }, formatTime(m.at)),
    el("span", { class: "chat-text" }, m.text))) : [el("li", { class: "chat-empty muted" }, t("chat.empty"))]));
    this.list.scrollTop = this.list.scrollHeight;
  }

  async submit(event) {
    event.preventDefault();
    const text = this.input.value;
    if (!text.trim()) return;
    this.error.textContent = "";
    this.input.disabled = true;
    try {
      const answer = await this.send(text);
      this.input.value = "";
      this.add([answer.message]);
    } catch (error) {
      this.error.textContent = t("chat.failed", { m: errorText(error) });
    } finally {
      this.input.disabled = false;
      this.input.focus();
    }
  }
}
