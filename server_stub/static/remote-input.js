// Remote control: the expert's pointer and keyboard on the screen canvas, mapped
// to the customer's pixels and keys, sent in batches (moves at most every 16 ms,
// clicks, wheel and keys at once), in order, one request at a time.

const MOVE_EVERY = 16; // ms
const BUTTONS = ["left", "middle", "right"];
const MODIFIERS = ["Shift", "Control", "Alt", "Meta", "AltGraph", "CapsLock"];
const WHEEL_UNIT = [100, 3, 1]; // one notch per deltaMode: pixels, lines, pages

export class RemoteInput {
  /** *send(events)* posts a batch and resolves when it is done (it may reject). */
  constructor(canvas, screen, send) {
    this.canvas = canvas;
    this.screen = screen;
    this.send = send;
    this.enabled = false;
    this.queue = [];
    this.inFlight = false;
    this.timer = null;
    this.held = new Map(); // keys down on the customer's side: released when focus goes
    this.buttons = new Set();
    this.lastAt = null;
    this.wheel = { dx: 0, dy: 0 };
    this.onError = () => {};
    const on = (type, handler, options) => canvas.addEventListener(type, handler, options);
    on("pointermove", (e) => this.pointer(e, "move"));
    on("pointerdown", (e) => this.pointer(e, "down"));
    on("pointerup", (e) => this.pointer(e, "up"));
    on("wheel", (e) => this.wheelEvent(e), { passive: false });
    on("keydown", (e) => this.key(e, true));
    on("keyup", (e) => this.key(e, false));
    on("contextmenu", (e) => { if (this.enabled) e.preventDefault(); });
    on("blur", () => this.releaseAll());
  }

  /** Control on (the customer allowed it) or off; off lets go of everything held. */
  enable(on) {
    if (!on && this.enabled) this.releaseAll();
    this.enabled = on;
    this.canvas.classList.toggle("controlling", on);
    if (!on) {
      this.queue = [];
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  pointer(event, kind) {
    if (!this.enabled) return;
    const at = this.screen.toScreen(event.clientX, event.clientY);
    if (!at) return;
    this.lastAt = at;
    if (kind === "move") {
      this.push({ t: "move", x: at.x, y: at.y }, false);
      return;
    }
    event.preventDefault();
    const button = BUTTONS[event.button];
    if (!button) return;
    if (kind === "down") {
      this.canvas.focus({ preventScroll: true });
      this.canvas.setPointerCapture(event.pointerId);
      this.buttons.add(button);
    } else {
      if (!this.buttons.has(button)) return;
      this.buttons.delete(button);
    }
    this.push({ t: kind, b: button, x: at.x, y: at.y }, true);
  }

  wheelEvent(event) {
    if (!this.enabled) return;
    event.preventDefault();
    const unit = WHEEL_UNIT[event.deltaMode] || 1;
    this.wheel.dx += event.deltaX / unit;
    this.wheel.dy += event.deltaY / unit;
    const dx = Math.trunc(this.wheel.dx);
    const dy = Math.trunc(this.wheel.dy);
    if (!dx && !dy) return; // a trackpad's small steps add up to a notch
    this.wheel.dx -= dx;
    this.wheel.dy -= dy;
    this.push({ t: "wheel", dx: Math.max(-100, Math.min(100, dx)), dy: Math.max(-100, Math.min(100, dy)) }, true);
  }

  key(event, down) {
    if (!this.enabled) return;
    event.preventDefault(); // the key is the customer's, not the browser's
    const code = event.code || event.key;
    if (!code) return;
    if (down) this.held.set(code, event.key);
    else if (!this.held.delete(code)) return; // pressed before control began
    const mods = MODIFIERS.filter((m) => event.getModifierState(m));
    this.push({ t: "key", code: code.slice(0, 32), key: event.key.slice(0, 32), down, mods }, true);
  }

  /** Let go of every key and button still down on the customer's side. */
  releaseAll() {
    if (!this.enabled) return;
    for (const [code, key] of this.held) this.queue.push({ t: "key", code, key, down: false, mods: [] });
    const at = this.lastAt || { x: 0, y: 0 };
    for (const button of this.buttons) this.queue.push({ t: "up", b: button, x: at.x, y: at.y });
    this.held.clear();
    this.buttons.clear();
    this.flush();
  }

  push(event, now) {
    const last = this.queue[this.queue.length - 1];
    if (event.t === "move" && last && last.t === "move") this.queue[this.queue.length - 1] = event;
    else this.queue.push(event);
    if (now) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), MOVE_EVERY);
  }

  async flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight || !this.queue.length) return;
    const batch = this.queue.splice(0, 200);
    this.inFlight = true;
    try {
      await this.send(batch);
    } catch (error) {
      this.onError(error);
    } finally {
      this.inFlight = false;
    }
    if (this.queue.length) this.flush();
  }
}
