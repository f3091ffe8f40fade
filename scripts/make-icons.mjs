// Draws the app icon (app/icon.svg: a rising line on the dark background) as the PNGs a phone
// installs: public/icons/* for the web app manifest and app/apple-icon.png for iOS. Run it again
// after changing the design: `node scripts/make-icons.mjs`.
import fs from "node:fs";
import zlib from "node:zlib";

const BACKGROUND = [0x0f, 0x14, 0x19];
const LINE = [0x21, 0x96, 0xf3];
// app/icon.svg's path and stroke, on its 32-unit grid.
const POINTS = [[6, 24], [12, 14], [17, 19], [26, 7]];
const HALF_STROKE = 1.5;
const CORNER = 6;
const SAMPLES = 4;

function distanceToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

// Inside the square with rounded corners of radius r (r = 0: the whole square).
function insideRoundedSquare(x, y, r) {
  const cx = Math.min(Math.max(x, r), 32 - r);
  const cy = Math.min(Math.max(y, r), 32 - r);
  return Math.hypot(x - cx, y - cy) <= r;
}

// `maskable`: full bleed, the line shrunk into the safe zone (the middle 80 % circle) that
// launchers keep whatever shape they cut; otherwise the rounded square of app/icon.svg.
function draw(size, { maskable }) {
  const scale = maskable ? 0.7 : 1;
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let covered = 0;
      let lined = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = ((px + (sx + 0.5) / SAMPLES) / size) * 32;
          const y = ((py + (sy + 0.5) / SAMPLES) / size) * 32;
          if (!insideRoundedSquare(x, y, maskable ? 0 : CORNER)) continue;
          covered++;
          // Into the line's own coordinates, scaled about the centre.
          const lx = 16 + (x - 16) / scale;
          const ly = 16 + (y - 16) / scale;
          const d = Math.min(...POINTS.slice(1).map((p, i) => distanceToSegment(lx, ly, POINTS[i], p)));
          if (d <= HALF_STROKE) lined++;
        }
      }
      const i = (py * size + px) * 4;
      const mix = covered ? lined / covered : 0;
      for (let c = 0; c < 3; c++) pixels[i + c] = Math.round(BACKGROUND[c] + (LINE[c] - BACKGROUND[c]) * mix);
      pixels[i + 3] = Math.round((covered / SAMPLES ** 2) * 255);
    }
  }
  return png(size, pixels);
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

// An 8-bit RGBA PNG, every row unfiltered (the flat colours compress well anyway).
function png(size, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(rows, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

fs.mkdirSync("public/icons", { recursive: true });
fs.writeFileSync("public/icons/icon-192.png", draw(192, { maskable: false }));
fs.writeFileSync("public/icons/icon-512.png", draw(512, { maskable: false }));
fs.writeFileSync("public/icons/icon-maskable-512.png", draw(512, { maskable: true }));
// iOS rounds the corners itself and shows transparency as black: a full square.
fs.writeFileSync("app/apple-icon.png", draw(180, { maskable: true }));
