// A sound when a new SOS arrives: off by default, switched on and off in the
// top bar and remembered per browser. The tone is made with WebAudio (two short
// notes), so no sound file is needed. Browsers let a page play sound only after
// the expert has clicked or typed in it: the first click unlocks it.

import { $ } from "./dom.js";

const STORE_KEY = "sosdesk.sound";
let context = null;

export function soundOn() {
  try { return localStorage.getItem(STORE_KEY) === "on"; } catch { return false; }
}

function audio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!context) context = new Context();
  if (context.state === "suspended") context.resume().catch(() => {});
  return context;
}

/** Two short rising notes, about a third of a second. */
export function playSosSound() {
  const ctx = audio();
  if (!ctx) return false;
  const start = ctx.currentTime + 0.02;
  for (const [offset, frequency] of [[0, 880], [0.16, 1175]]) {
    const tone = ctx.createOscillator();
    const volume = ctx.createGain();
    tone.type = "sine";
    tone.frequency.value = frequency;
    volume.gain.setValueAtTime(0.0001, start + offset);
    volume.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
    tone.connect(volume).connect(ctx.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.15);
  }
  return true;
}

/** A new SOS: the sound, if the expert switched it on. */
export function sosArrived() {
  if (soundOn()) playSosSound();
}

export function updateSoundButton(loggedIn) {
  const button = $("sound-btn");
  button.hidden = !loggedIn;
  button.setAttribute("aria-pressed", String(soundOn()));
}

function toggle() {
  const on = !soundOn();
  try { localStorage.setItem(STORE_KEY, on ? "on" : "off"); } catch { /* storage off: this page only */ }
  updateSoundButton(true);
  if (on) playSosSound(); // what it will sound like (and a click: the browser now allows it)
}

export function wireSound() {
  $("sound-btn").addEventListener("click", toggle);
  // A page may start sound only after a click or a key: the first one unlocks it.
  const unlock = () => { if (soundOn()) audio(); };
  document.addEventListener("pointerdown", unlock, { once: true, capture: true });
  document.addEventListener("keydown", unlock, { once: true, capture: true });
}
