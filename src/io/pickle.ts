// A pickle reader (protocols 2–5, the binary opcodes) that executes nothing. Python's pickle
// builds objects by calling any importable callable that a GLOBAL opcode names, which is how a
// .pt file can run code (`os.system`, …). Here a GLOBAL is looked up only in the allow-list the
// caller passes: each entry is a constructor written in TypeScript that builds plain data. Any
// other name is refused before anything is built. The VM is generic so that other formats
// (torch.save's data.pkl, torchvision's CIFAR pickles) can each bring their own allow-list.

/** A Python tuple (kept apart from lists, which are plain arrays, so callers can tell them apart). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A Python dict or OrderedDict: insertion-ordered; keys are strings, numbers, bigints, booleans or null. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** Instance attributes set by BUILD (an OrderedDict's `_metadata`, say); never interpreted. */
  attrs: unknown = undefined;
  constructor(readonly className = 'dict') {}
}

/** Python bytes (or a Python 2 str read as bytes). */
export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** What an allow-listed global is: called by REDUCE/NEWOBJ with the argument tuple's items. */
export interface PyCallable {
  readonly pyName: string;
  call(args: unknown[]): unknown;
}

export interface PickleOptions {
  /** The allowed globals, by `module.name`. */
  globals: Record<string, PyCallable>;
  /** BINPERSID's resolver (torch.save's storages); without it BINPERSID is refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** How the file is named in errors. */
  name: string;
  /** After a refused global: why (in parentheses), then the fix. */
  refuseReason: string;
  refuseFix: string;
}

/** A refused global or malformed pickle; the message is one line naming the file. */
export class PickleError extends Error {}

/** Objects BUILD may update: those with a `setState` of their own; PyDicts keep it as attrs. */
interface Buildable {
  setState(state: unknown): void;
}

/** Runs the pickle in `data` and returns the object it builds. */
export function unpickle(data: Uint8Array, opts: PickleOptions): unknown {
  const fail = (msg: string): never => {
    throw new PickleError(`${opts.name}: ${msg}`);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): number => {
    if (pos + n > data.length) fail(`pickle ends early (at byte ${pos}, ${n} more needed); the file is truncated or corrupt, re-download or re-save it`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`pickle length ${v} is too large; the file is corrupt`);
    return Number(v);
  };
  const bytes = (n: number) => data.subarray(need(n), pos);
  const text = (n: number) => {
    try {
      return utf8.decode(bytes(n));
    } catch {
      return fail(`pickle holds a string that is not UTF-8 (near byte ${pos}); the file is corrupt`);
    }
  };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('pickle ends inside a GLOBAL name; the file is truncated or corrupt');
    const s = new TextDecoder('latin1').decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) fail(`pickle pops an empty stack (at byte ${pos}); the file is corrupt`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`pickle reads an empty stack (at byte ${pos}); the file is corrupt`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail(`pickle has no MARK to pop to (at byte ${pos}); the file is corrupt`);
    return stack.splice(m!);
  };
  const resolve = (module: string, name: string): PyCallable => {
    const g = opts.globals[`${module}.${name}`];
    if (!g) fail(`refuses to load '${module}.${name}' (${opts.refuseReason}); ${opts.refuseFix}`);
    return g!;
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (!(args instanceof PyTuple)) fail('pickle calls with arguments that are not a tuple; the file is corrupt');
    if (typeof f !== 'object' || f === null || typeof (f as PyCallable).call !== 'function') fail('pickle calls something that is not an allowed global; the file is corrupt');
    return (f as PyCallable).call((args as PyTuple).items);
  };
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof PyDict)) fail('pickle sets items on something that is not a dict; the file is corrupt');
    if (kv.length % 2) fail('pickle sets a key without a value; the file is corrupt');
    for (let i = 0; i < kv.length; i += 2) (d as PyDict).map.set(dictKey(kv[i]), kv[i + 1]);
  };
  const dictKey = (k: unknown): unknown => {
    // Map keys compare by identity; tuples as keys are kept as their text so equal tuples match.
    if (k instanceof PyTuple) return JSON.stringify(k.items, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    return k;
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail('pickle appends to something that is not a list; the file is corrupt');
    (list as unknown[]).push(...items);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is newer than this reader knows (2–5); re-save it with an older protocol`);
        break;
      }
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail('pickle stops with a malformed stack; the file is corrupt');
        return stack[0];
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(longLE(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(longLE(bytes(u32()))); break; // LONG4
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT: big-endian
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      // Python 2 str: bytes, as Python 3's encoding='bytes' reads them (torchvision's CIFAR pickles).
      case 0x54: stack.push(new PyBytes(bytes(u32()))); break; // BINSTRING
      case 0x55: stack.push(new PyBytes(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(new PyBytes(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(new PyBytes(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(new PyBytes(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(new PyBytes(bytes(u64()))); break; // BYTEARRAY8
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail('pickle adds items to something that is not a set; the file is corrupt'); for (const i of items) (s as Set<unknown>).add(i); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x63: { const module = line(); const name = line(); stack.push(resolve(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('pickle names a global with non-strings; the file is corrupt');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const f = pop(); stack.push(call(f, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attrs = state;
        else if (typeof obj === 'object' && obj !== null && typeof (obj as Buildable).setState === 'function') (obj as Buildable).setState(state);
        else fail(`pickle sets the state of an object that takes none (at byte ${at}); the file is corrupt`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('pickle refers to outside data (BINPERSID) where none is expected; the file is not what it claims');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`pickle reads memo slot ${i}, never written; the file is corrupt`);
        stack.push(memo.get(i));
        break;
      }
      default:
        // The text opcodes of protocol 0/1, INST/OBJ (which call classes by name), extensions and
        // out-of-band buffers are not needed by the formats read here.
        fail(`pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not supported (this reader reads protocols 2–5 as torch.save writes them); re-save the file`);
    }
    if (pos > data.length) fail('pickle ends early; the file is truncated');
  }
}

/** A little-endian two's-complement integer (LONG1/LONG4) as a number when safe, else a bigint. */
function longLE(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** An allow-list entry from a function. */
export function pyCallable(pyName: string, call: (args: unknown[]) => unknown): PyCallable {
  return { pyName, call };
}
