// The WASI a call's instance gets: randomness, and nothing else that reaches
// the outside (R23). The component's Rust std may still import the cli
// interfaces (stdout, stderr, stdin, environment, exit, terminals) and
// wasi:io; they are linked here as a sandbox, like smartlock-host's WasiCtx:
// no environment, no stdin, output kept in memory for the log and for trap
// messages (a panic message), `exit` fails the call.
//
// One `Wasi` per call: its buffers are that call's output.

import { randomBytes } from 'node:crypto';

/** Bytes of guest stdout/stderr kept per call (the rest is dropped). */
export const GUEST_OUTPUT_CAPACITY = 64 * 1024;

/** Thrown by `wasi:cli/exit.exit`: the guest asked to stop; the call traps. */
export class GuestExit extends Error {
  constructor(status) {
    super(`the plugin called exit (${status?.tag === 'ok' ? 'success' : 'failure'})`);
    this.name = 'GuestExit';
  }
}

// wasi:io resources. jco checks returned resources with `instanceof` against
// the classes in the import object, so the same classes are used throughout.
class IoError {
  constructor(message) {
    this.message = message;
  }
  toDebugString() {
    return this.message;
  }
}

/** Every pollable is ready at once: the guest has no clock to wait on. */
class Pollable {
  ready() {
    return true;
  }
  block() {}
}

/** stdin: always closed. */
class InputStream {
  read() {
    throw { tag: 'closed' };
  }
  blockingRead() {
    throw { tag: 'closed' };
  }
  skip() {
    throw { tag: 'closed' };
  }
  blockingSkip() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return new Pollable();
  }
}

/** stdout / stderr: appended to a bounded in-memory buffer. */
class OutputStream {
  constructor(capacity = GUEST_OUTPUT_CAPACITY) {
    this.chunks = [];
    this.size = 0;
    this.capacity = capacity;
  }
  checkWrite() {
    return 65536n;
  }
  write(contents) {
    const room = this.capacity - this.size;
    if (room > 0) {
      const kept = contents.length <= room ? contents : contents.subarray(0, room);
      this.chunks.push(Buffer.from(kept));
      this.size += kept.length;
    }
  }
  blockingWriteAndFlush(contents) {
    this.write(contents);
  }
  flush() {}
  blockingFlush() {}
  writeZeroes(n) {
    this.write(new Uint8Array(Number(n)));
  }
  blockingWriteZeroesAndFlush(n) {
    this.writeZeroes(n);
  }
  subscribe() {
    return new Pollable();
  }
  /** Forgets what was written (a new call begins). */
  reset() {
    this.chunks = [];
    this.size = 0;
  }
  /** What the guest wrote, as text. */
  text() {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

class TerminalInput {}
class TerminalOutput {}

// Interfaces a component built with Rust's std may import and that this
// sandbox refuses or freezes (the plugin needs none of them; R23).
class Descriptor {}
class DirectoryEntryStream {}
class Network {}
class TcpSocket {}
class UdpSocket {}
class IncomingDatagramStream {}
class OutgoingDatagramStream {}
class ResolveAddressStream {}
const denied = () => {
  throw 'access-denied'; // the WIT error-code, as jco lowers a thrown value
};

function randomU64() {
  return randomBytes(8).readBigUInt64LE(0);
}

/**
 * The WASI imports of one call, under the unversioned names the generated
 * JS reads (`imports['wasi:random/random']`). Interfaces the component does
 * not import are ignored by the generated code.
 */
export function wasiImports() {
  const stdout = new OutputStream();
  const stderr = new OutputStream();
  const stdin = new InputStream();
  const random = {
    getRandomBytes: (len) => new Uint8Array(randomBytes(Number(len))),
    getRandomU64: randomU64,
  };
  const imports = {
    'wasi:random/random': random,
    'wasi:random/insecure': random,
    'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll: (list) => new Uint32Array(list.map((_, i) => i)) },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/environment': {
      getEnvironment: () => [],
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status) => {
        throw new GuestExit(status);
      },
    },
    // Clocks frozen at the epoch: the `clock` import is the plugin's clock.
    // Every wait is over at once (a guest that sleeps does not block the host).
    'wasi:clocks/monotonic-clock': {
      now: () => 0n,
      resolution: () => 1_000_000_000n,
      subscribeInstant: () => new Pollable(),
      subscribeDuration: () => new Pollable(),
    },
    'wasi:clocks/wall-clock': {
      now: () => ({ seconds: 0n, nanoseconds: 0 }),
      resolution: () => ({ seconds: 1n, nanoseconds: 0 }),
    },
    // No filesystem: no preopened directory.
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    // No sockets, no name lookup.
    'wasi:sockets/network': { Network },
    'wasi:sockets/instance-network': { instanceNetwork: () => new Network() },
    'wasi:sockets/tcp': { TcpSocket },
    'wasi:sockets/tcp-create-socket': { createTcpSocket: denied },
    'wasi:sockets/udp': { UdpSocket, IncomingDatagramStream, OutgoingDatagramStream },
    'wasi:sockets/udp-create-socket': { createUdpSocket: denied },
    'wasi:sockets/ip-name-lookup': { resolveAddresses: denied, ResolveAddressStream },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
  };
  return { imports, stdout, stderr };
}
