/** What the language task needs of a tokenizer: vpt's own (./tokenizer.ts) or a pretrained model's (./hf-tokenizer.ts). */
export interface TextTokenizer {
  /** The end-of-text token: ends every document and every decoding. */
  readonly eosId: number;
  /** One more than the largest id it produces. */
  readonly vocabSize: number;
  encode(text: string): number[];
  /** Ids and the character offset in `text` where each token starts. */
  encodeWithOffsets(text: string): { ids: number[]; offsets: number[] };
  /** Text of `ids`, end-of-text dropped. */
  decode(ids: readonly number[]): string;
}
