// The memory cap written into the plugin's core modules: the build writes
// the default (scripts/build.js), a host with another `memoryLimitBytes`
// compiles the modules again with its own (host.js).

function readLeb(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [result, pos];
  }
}

function leb(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/**
 * Gives every linear memory a core module defines a maximum of `maxPages`
 * (64 KiB each) unless it has a lower one (`exact`: whatever it had, but
 * never below its initial size): `memory.grow` past it fails, the guest's
 * allocator aborts, and the call traps — smartlock-host's memory cap.
 * Returns the new bytes, or null when there was nothing to change.
 */
export function capMemory(wasm, maxPages, { exact = false } = {}) {
  if (Buffer.from(wasm.buffer, wasm.byteOffset, 4).readUInt32LE(0) !== 0x6d736100) throw new Error('not a core wasm module');
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, bodyStart] = readLeb(wasm, pos + 1);
    const bodyEnd = bodyStart + size;
    if (id === 5) {
      let [count, p] = readLeb(wasm, bodyStart);
      const body = [...leb(count)];
      let changed = false;
      for (let i = 0; i < count; i++) {
        const flags = wasm[p++];
        if (flags & 0x04) return null; // memory64: leave it alone
        let min, max;
        [min, p] = readLeb(wasm, p);
        if (flags & 0x01) [max, p] = readLeb(wasm, p);
        const capped = exact || max === undefined || max > maxPages ? Math.max(min, maxPages) : max;
        if (capped !== max) changed = true;
        body.push(flags | 0x01, ...leb(min), ...leb(capped));
      }
      if (!changed) return null;
      const section = Buffer.from([5, ...leb(body.length), ...body]);
      return Buffer.concat([wasm.subarray(0, pos), section, wasm.subarray(bodyEnd)]);
    }
    pos = bodyEnd;
  }
  return null;
}

