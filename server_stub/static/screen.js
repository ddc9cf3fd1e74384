// The customer's screen on a <canvas>: FRAME bodies read and drawn tile by tile
// (createImageBitmap + drawImage), the cursor on a second canvas above it, the
// picture fit to the window or at 1:1 with scrolling, and the mapping from a
// pointer position on the page to the customer's pixels.

/** A FRAME body: [4-byte big-endian length][JSON header][tile bytes]. */
export function readFrame(buffer) {
  const view = new DataView(buffer);
  const size = view.getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, size)));
  const tiles = [];
  let offset = 4 + size;
  for (const [x, y, w, h, length, fmt] of header.tiles) {
    tiles.push({ x, y, w, h, fmt, bytes: new Uint8Array(buffer, offset, length) });
    offset += length;
  }
  return { header, tiles };
}

const BACKGROUND = "#1b1f27";

export class Screen {
  constructor(canvas, cursorCanvas, wrap) {
    this.canvas = canvas;
    this.cursorCanvas = cursorCanvas;
    this.wrap = wrap;
    this.ctx = canvas.getContext("2d");
    this.cursorCtx = cursorCanvas.getContext("2d");
    this.fit = true;
    this.hasPicture = false;
    this.cursor = null;
    new ResizeObserver(() => this.layout()).observe(wrap);
  }

  /** The screen's size in the customer's pixels (0 before the first frame). */
  get width() { return this.hasPicture ? this.canvas.width : 0; }
  get height() { return this.hasPicture ? this.canvas.height : 0; }

  /** Draw a frame's tiles (decoded together, drawn in order) and its cursor. */
  async draw(header, tiles) {
    if (header.width && header.height
        && (header.width !== this.canvas.width || header.height !== this.canvas.height)) {
      this.canvas.width = this.cursorCanvas.width = header.width;
      this.canvas.height = this.cursorCanvas.height = header.height;
      this.layout();
    }
    if (header.full) { // start over: what follows is the whole picture (none after a Stop)
      this.ctx.fillStyle = BACKGROUND;
      this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
      this.hasPicture = false;
    }
    const bitmaps = await Promise.all(tiles.map((tile) =>
      createImageBitmap(new Blob([tile.bytes], { type: "image/" + tile.fmt })).catch(() => null)));
    tiles.forEach((tile, n) => {
      const bitmap = bitmaps[n];
      if (!bitmap) return; // a tile the browser cannot decode: the next full frame repairs it
      this.ctx.drawImage(bitmap, tile.x, tile.y, tile.w, tile.h);
      bitmap.close();
    });
    if (tiles.length && header.width) this.hasPicture = true;
    this.drawCursor(header.cursor);
  }

  /** Forget the picture (the session ended). */
  clear() {
    this.hasPicture = false;
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.drawCursor(null);
  }

  drawCursor(position) {
    const ctx = this.cursorCtx;
    if (this.cursor) ctx.clearRect(this.cursor[0] - 2, this.cursor[1] - 2, 24, 30);
    this.cursor = position && this.hasPicture ? position : null;
    if (!this.cursor) return;
    const [x, y] = this.cursor;
    // An arrow as big as a usual pointer, white with a dark edge so it shows on any picture.
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x, y + 19);
    ctx.lineTo(x + 5, y + 14);
    ctx.lineTo(x + 9, y + 23);
    ctx.lineTo(x + 12, y + 22);
    ctx.lineTo(x + 8, y + 13);
    ctx.lineTo(x + 14, y + 13);
    ctx.closePath();
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = 1.2;
    ctx.fill();
    ctx.stroke();
  }

  /** Fit to the window (true) or show 1:1 with scrolling (false). */
  setFit(fit) {
    this.fit = fit;
    this.wrap.classList.toggle("fit", fit);
    this.layout();
  }

  layout() {
    const { width, height } = this.canvas;
    if (!width || !height) return;
    let scale = 1;
    if (this.fit) {
      const box = this.wrap.getBoundingClientRect();
      scale = Math.min(box.width / width, box.height / height) || 1;
    }
    for (const node of [this.canvas, this.cursorCanvas]) {
      node.style.width = `${Math.floor(width * scale)}px`;
      node.style.height = `${Math.floor(height * scale)}px`;
    }
  }

  /** A page position -> the customer's pixel {x, y} (clamped to the screen), or null without a picture. */
  toScreen(clientX, clientY) {
    if (!this.hasPicture) return null;
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return null;
    const x = Math.floor((clientX - rect.left) * this.canvas.width / rect.width);
    const y = Math.floor((clientY - rect.top) * this.canvas.height / rect.height);
    return {
      x: Math.min(this.canvas.width - 1, Math.max(0, x)),
      y: Math.min(this.canvas.height - 1, Math.max(0, y)),
    };
  }
}
