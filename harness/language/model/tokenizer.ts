/**
 * A deterministic piece tokenizer. Text is split GPT-2 style into pieces (a word or number with its
 * leading space, a newline, a punctuation mark, a run of spaces); a piece in the vocabulary is one token,
 * any other piece is spelled with byte tokens, so encoding is lossless for any UTF-8 text. Whole numbers
 * up to `maxNumber` are single tokens, which lets a tiny model learn arithmetic facts as lookups.
 * The vocabulary is built from a corpus by count (ties broken lexicographically) and saved as JSON.
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../../results/atomic.js';

const PIECE = / ?[A-Za-z]+| ?\d+| ?[^\sA-Za-z\d]+|\n| +|\s/gu;

export interface TokenizerJson {
  kind: 'vpt-piece';
  version: 1;
  pieces: string[];
}

export interface BuildOptions {
  /** Largest vocabulary (pieces beyond bytes and specials). Default 1024. */
  maxPieces?: number;
  /** Numbers 0..maxNumber (with and without a leading space) are always single tokens. Default 200. */
  maxNumber?: number;
  /** A piece must occur at least this often to get a token. Default 2. */
  minCount?: number;
}

export const EOS = '<|endoftext|>';

export class Tokenizer {
  readonly pieces: string[];
  private readonly index = new Map<string, number>();
  readonly eosId: number;

  constructor(pieces: string[]) {
    this.pieces = pieces;
    pieces.forEach((p, i) => {
      if (this.index.has(p)) throw new Error(`tokenizer: duplicate piece ${JSON.stringify(p)}`);
      this.index.set(p, i);
    });
    const eos = this.index.get(EOS);
    if (eos === undefined) throw new Error('tokenizer: vocabulary lacks the end-of-text token');
    this.eosId = eos;
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  static build(corpus: Iterable<string>, opts: BuildOptions = {}): Tokenizer {
    const maxPieces = opts.maxPieces ?? 1024;
    const maxNumber = opts.maxNumber ?? 200;
    const minCount = opts.minCount ?? 2;
    const counts = new Map<string, number>();
    for (const text of corpus) for (const m of text.matchAll(PIECE)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
    const base: string[] = [EOS];
    for (let b = 0; b < 256; b++) base.push(byteToken(b));
    for (let n = 0; n <= maxNumber; n++) base.push(String(n), ` ${n}`);
    const have = new Set(base);
    const ranked = [...counts.entries()]
      .filter(([p, c]) => c >= minCount && !have.has(p) && Buffer.byteLength(p) > 1)
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
      .slice(0, maxPieces)
      .map(([p]) => p);
    return new Tokenizer([...base, ...ranked]);
  }

  encode(text: string): number[] {
    return this.encodeWithOffsets(text).ids;
  }

  /** Token ids and, per token, the character offset in `text` where its piece starts. */
  encodeWithOffsets(text: string): { ids: number[]; offsets: number[] } {
    const ids: number[] = [];
    const offsets: number[] = [];
    for (const m of text.matchAll(PIECE)) {
      const id = this.index.get(m[0]);
      if (id !== undefined) {
        ids.push(id);
        offsets.push(m.index);
        continue;
      }
      for (const byte of Buffer.from(m[0], 'utf8')) {
        ids.push(this.index.get(byteToken(byte)) as number);
        offsets.push(m.index);
      }
    }
    return { ids, offsets };
  }

  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let text = '';
    const flush = (): void => {
      if (bytes.length) text += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    };
    for (const id of ids) {
      const p = this.pieces[id];
      if (p === undefined) throw new Error(`tokenizer: id ${id} is outside the vocabulary (${this.vocabSize})`);
      const byte = parseByteToken(p);
      if (byte !== undefined) bytes.push(byte);
      else {
        flush();
        if (id !== this.eosId) text += p;
      }
    }
    flush();
    return text;
  }

  toJSON(): TokenizerJson {
    return { kind: 'vpt-piece', version: 1, pieces: this.pieces };
  }

  save(path: string): void {
    writeJsonAtomic(path, this.toJSON());
  }

  static load(path: string): Tokenizer {
    const json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
    if (json.kind !== 'vpt-piece' || !Array.isArray(json.pieces)) throw new Error(`${path}: not a vpt tokenizer file`);
    return new Tokenizer(json.pieces);
  }
}

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

function parseByteToken(p: string): number | undefined {
  const m = /^<0x([0-9A-F]{2})>$/.exec(p);
  return m ? parseInt(m[1] as string, 16) : undefined;
}
