/**
 * Bytes as text and back without loss. The command's words and file names
 * are bytes; Deno's strings are UTF-16. Valid UTF-8 decodes as usual and
 * every other byte B becomes the lone surrogate U+DC00+B (Python's
 * "surrogateescape"), which `encode` turns back into B.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Made on first use: building a fatal decoder costs ~0.2 ms of start-up (docs/architecture.md, "Performance"). */
let strictDecoder: TextDecoder | undefined;
const strict = () => strictDecoder ??= new TextDecoder("utf-8", { fatal: true });

export function decodeBytes(bytes: Uint8Array): string {
  if (bytes.every((b) => b < 0x80)) {
    // Most words are ASCII: no decoder to build at start-up.
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    return text;
  }
  try {
    return strict().decode(bytes);
  } catch {
    // Fall through to the byte-by-byte path.
  }
  let text = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        text += strict().decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // Not a valid sequence: escape its first byte.
      }
    }
    text += String.fromCharCode(0xdc00 + b);
    i++;
  }
  return text;
}

/** UTF-8 of `text`, with `decodeBytes`'s escapes turned back into their bytes. */
export function encode(text: string): Uint8Array<ArrayBuffer> {
  if (!/[\udc80-\udcff]/.test(text)) return encoder.encode(text);
  // Escapes only ever stand for single bytes, so the UTF-8 of the text is
  // an upper bound on the result's length.
  const out = new Uint8Array(text.length * 3);
  let length = 0;
  let start = 0;
  const flush = (end: number) => {
    length += encoder.encodeInto(text.slice(start, end), out.subarray(length)).written;
  };
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const paired = i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (unit >= 0xdc80 && unit <= 0xdcff && !paired) {
      flush(i);
      out[length++] = unit - 0xdc00;
      start = i + 1;
    }
  }
  flush(text.length);
  return out.slice(0, length);
}

/** A NUL-terminated copy of `text`, for C strings and mkdtemp templates. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The text of a NUL-terminated buffer, up to its NUL. */
export function fromCString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return decodeBytes(end < 0 ? buf : buf.subarray(0, end));
}

/** Plain UTF-8 decoding, for the C library's texts. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * `text` with every control character (C0, DEL, C1) written as `\xNN`: text taken from a
 * log (or a parser's quote of it) never reaches a terminal raw in dtee's own messages.
 */
export function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
