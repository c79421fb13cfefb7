// Test data in torchvision's CIFAR form: a writer of Python 2 cPickle protocol-2 pickles (the
// opcodes Python 2's cPickle emits, as the published archives hold them) and the batch files made with it.

export type PyVal = number | string | boolean | null | { tuple: PyVal[] } | PyVal[] | { dict: [string, PyVal][] } | { ndarray: { shape: number[]; raw: Uint8Array } } | { global: string };

export class P2Writer {
  private parts: Buffer[] = [];
  private memo = new Map<string, number>(); // strings and globals by value (Python 2 interns both)
  private next = 1; // cPickle's memo ids start at 1 (id 0 would be fine too)
  private b(...bytes: number[]) {
    this.parts.push(Buffer.from(bytes));
  }
  private put() {
    this.b(0x71, this.next++); // BINPUT (all ids here < 256)
  }
  private str(s: string | Uint8Array) {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
    const key = typeof s === 'string' ? `s:${s}` : null;
    if (key && this.memo.has(key)) return this.b(0x68, this.memo.get(key)!); // BINGET
    if (bytes.length < 256) this.b(0x55, bytes.length); // SHORT_BINSTRING
    else {
      const h = Buffer.alloc(5);
      h[0] = 0x54; // BINSTRING
      h.writeUInt32LE(bytes.length, 1);
      this.parts.push(h);
    }
    this.parts.push(bytes);
    if (key) this.memo.set(key, this.next);
    this.put();
  }
  private int(n: number) {
    if (n >= 0 && n < 256) this.b(0x4b, n); // BININT1
    else if (n >= 0 && n < 65536) this.b(0x4d, n & 0xff, n >> 8); // BININT2
    else {
      const h = Buffer.alloc(5);
      h[0] = 0x4a; // BININT
      h.writeInt32LE(n, 1);
      this.parts.push(h);
    }
  }
  private global(name: string) {
    const key = `g:${name}`;
    if (this.memo.has(key)) return this.b(0x68, this.memo.get(key)!);
    const dot = name.lastIndexOf('.');
    this.b(0x63); // GLOBAL
    this.parts.push(Buffer.from(`${name.slice(0, dot)}\n${name.slice(dot + 1)}\n`, 'latin1'));
    this.memo.set(key, this.next);
    this.put();
  }
  private tuple(items: PyVal[]) {
    if (items.length === 0) return this.b(0x29);
    if (items.length <= 3) {
      for (const v of items) this.val(v);
      this.b([0x85, 0x86, 0x87][items.length - 1]); // TUPLE1/2/3
    } else {
      this.b(0x28); // MARK
      for (const v of items) this.val(v);
      this.b(0x74); // TUPLE
    }
    this.put();
  }
  val(v: PyVal): void {
    if (v === null) this.b(0x4e);
    else if (v === true) this.b(0x88);
    else if (v === false) this.b(0x89);
    else if (typeof v === 'number') this.int(v);
    else if (typeof v === 'string') this.str(v);
    else if (Array.isArray(v)) {
      this.b(0x5d); // EMPTY_LIST
      this.put();
      for (let i = 0; i < v.length; i += 1000) { // cPickle batches APPENDS by 1000
        const chunk = v.slice(i, i + 1000);
        if (chunk.length === 1) { this.val(chunk[0]); this.b(0x61); continue; } // APPEND
        this.b(0x28);
        for (const x of chunk) this.val(x);
        this.b(0x65); // APPENDS
      }
    } else if ('tuple' in v) this.tuple(v.tuple);
    else if ('global' in v) this.global(v.global);
    else if ('dict' in v) {
      this.b(0x7d); // EMPTY_DICT
      this.put();
      this.b(0x28);
      for (const [k, x] of v.dict) { this.str(k); this.val(x); }
      this.b(0x75); // SETITEMS
    } else {
      // numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), 'b') then BUILD (1, shape, dtype, False, raw)
      const { shape, raw } = v.ndarray;
      this.global('numpy.core.multiarray._reconstruct');
      this.global('numpy.ndarray');
      this.tuple([0]);
      this.str('b');
      this.b(0x87);
      this.put();
      this.b(0x52); // REDUCE
      this.put();
      this.b(0x28);
      this.int(1);
      this.tuple(shape);
      this.global('numpy.dtype');
      this.str('u1');
      this.int(0);
      this.int(1);
      this.b(0x87);
      this.put();
      this.b(0x52);
      this.put();
      this.tuple([3, '|', null, null, null, -1, -1, 0]);
      this.b(0x62); // BUILD (the dtype's state)
      this.b(0x89); // is_fortran False
      this.str(raw);
      this.b(0x74);
      this.put();
      this.b(0x62); // BUILD (the array's state)
    }
  }
  static dump(v: PyVal): Buffer {
    const w = new P2Writer();
    w.b(0x80, 2); // PROTO 2
    w.val(v);
    w.b(0x2e); // STOP
    return Buffer.concat(w.parts);
  }
}

/** Images (N × 3072, CHW) and their labels, as a CifarSplit holds them. */
export interface Images { images: Uint8Array; labels: Uint8Array }

/** A batch file of records `from`..`from + n` of `split` (CIFAR-100: `split` holds the coarse labels, `fine` the fine ones). */
export function batchPickle(split: Images, fine: Images | null, from: number, n: number, label: string): Buffer {
  const raw = split.images.slice(from * 3072, (from + n) * 3072);
  const labels = Array.from(split.labels.subarray(from, from + n));
  const dict: [string, PyVal][] = [['batch_label', label]];
  if (fine) dict.push(['fine_labels', Array.from(fine.labels.subarray(from, from + n))], ['coarse_labels', labels]);
  else dict.push(['labels', labels]);
  dict.push(['data', { ndarray: { shape: [n, 3072], raw } }], ['filenames', labels.map((l, i) => `img_${from + i}_${l}.png`)]);
  return P2Writer.dump({ dict });
}
