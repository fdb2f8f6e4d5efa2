import { AgoraError } from '@agora/sdk';

/** What {@link readImageSize} learns from an image's header. */
export type ImageSize = { format: 'png' | 'jpeg'; width: number; height: number };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Reads the format and pixel size of a PNG or JPEG from its header, without decoding it, so the
 * OCR runtime can refuse garbage and oversized images before they reach tesseract (a small file
 * can declare a huge image).
 *
 * @throws {AgoraError} `OcrImageUndecodable` when the bytes are not a PNG or JPEG with a readable size.
 * @example
 * const { format, width, height } = readImageSize(await readFile('scan.png'))
 */
export function readImageSize(image: Uint8Array): ImageSize {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    // The IHDR chunk comes first: length (4), type (4), width (4), height (4).
    if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') throw undecodable('its PNG header is cut short or damaged');
    return checked({ format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) });
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return checked(readJpegSize(bytes));
  const start = bytes.subarray(0, 8).toString('hex') || 'nothing';
  throw undecodable(`it is neither a PNG nor a JPEG (it starts with ${bytes.length === 0 ? 'nothing: it is empty' : `0x${start}`})`);
}

/** Walks the JPEG markers up to the first start-of-frame, which holds the size. */
function readJpegSize(bytes: Buffer): ImageSize {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) break;
    const marker = bytes[offset + 1] as number;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    // Markers without a length: TEM, RST0–7.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2;
      continue;
    }
    const length = bytes.readUInt16BE(offset + 2);
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision (1), height (2), width (2).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (offset + 9 > bytes.length) break;
      return { format: 'jpeg', height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) };
    }
    if (length < 2) break;
    offset += 2 + length;
  }
  throw undecodable('its JPEG header is cut short or damaged (no frame size found)');
}

function checked(size: ImageSize): ImageSize {
  if (size.width === 0 || size.height === 0) throw undecodable(`its ${size.format.toUpperCase()} header declares a ${size.width}×${size.height} image`);
  return size;
}

function undecodable(reason: string): AgoraError {
  return new AgoraError('OcrImageUndecodable', `The image could not be decoded: ${reason}.`, {
    fix: 'send the bytes of a PNG or JPEG file.',
  });
}
