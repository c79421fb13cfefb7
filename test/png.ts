// A minimal PNG encoder for tests that hand real images to a browser: 8-bit RGB, no filter, no
// colour chunks (so a browser takes the bytes as sRGB and a canvas reads them back unchanged).
import zlib from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG of a planar (CHW) RGB image of bytes, as CIFAR stores them. */
export function pngFromChw(chw: Uint8Array, width: number, height: number): Buffer {
  const plane = width * height;
  if (chw.length !== 3 * plane) throw new Error(`pngFromChw: ${chw.length} bytes, not 3 × ${width} × ${height}`);
  const raw = Buffer.alloc(height * (1 + 3 * width)); // each row: filter type 0, then RGB triples
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) raw[y * (1 + 3 * width) + 1 + 3 * x + c] = chw[c * plane + y * width + x];
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, no filter method, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
