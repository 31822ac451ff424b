// The base-map steps' tile source (basemap.mjs).

import { once } from 'node:events';
import http from 'node:http';
import zlib from 'node:zlib';

// A tile server of its own on loopback: every /tiles/{z}/{x}/{y}.png is a generated 256 px PNG
// (a checkerboard of two greens, so a drawn tile is not blank); other paths are 404.
let tileServer = null;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// A 256 x 256 RGB PNG of one colour with a darker 1 px border.
function tilePng([r, g, b]) {
  const size = 256;
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y += 1) {
    const row = y * (size * 3 + 1);
    for (let x = 0; x < size; x += 1) {
      const edge = x === 0 || y === 0 ? 0.8 : 1;
      raw.set([r * edge, g * edge, b * edge].map(Math.round), row + 1 + x * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function startTileServer() {
  const tiles = [tilePng([200, 225, 200]), tilePng([180, 210, 185])];
  const requests = [];
  const httpServer = http.createServer((req, res) => {
    requests.push(req.url);
    const match = /^\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(req.url);
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    const [, , x, y] = match.map(Number);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-store' });
    res.end(tiles[(x + y) % 2]);
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const origin = `http://127.0.0.1:${httpServer.address().port}`;
  tileServer = { httpServer, origin, requests };
  return tileServer;
}

export async function stopTileServer() {
  if (!tileServer) return;
  const { httpServer } = tileServer;
  tileServer = null;
  httpServer.closeAllConnections();
  await new Promise((resolve) => httpServer.close(resolve));
}
