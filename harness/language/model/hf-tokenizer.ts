/**
 * A pretrained model's tokenizer from its `tokenizer.json` (Hugging Face's format) with `tokenizer_config.json` for
 * special tokens and the chat template, run by @huggingface/tokenizers (Hugging Face's own pure-JS port of the
 * tokenizers library: no native build, the same ids on every platform). The harness tokenises everything, so both
 * engines train and decode on the same ids.
 */
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError } from '../../errors.js';
import type { TextTokenizer } from './text-tokenizer.js';

interface TokenizerConfig {
  eos_token?: string | { content: string } | null;
  chat_template?: string | { name: string; template: string }[];
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new DataError(`${path}: cannot read the ${what} (${(e as Error).message.split('\n')[0]})`);
  }
}

export class HfTokenizer implements TextTokenizer {
  readonly eosId: number;
  readonly vocabSize: number;
  readonly eosToken: string;
  /** The chat template of tokenizer_config.json (its default one when it lists several), if any. */
  readonly chatTemplate: string | undefined;

  private constructor(private readonly tok: HfTokenizerImpl, json: { model?: { vocab?: Record<string, number> | unknown[] }; added_tokens?: { id: number }[] }, config: TokenizerConfig, readonly source: string) {
    const vocab = json.model?.vocab;
    let largest = Array.isArray(vocab) ? vocab.length - 1 : -1;
    if (!Array.isArray(vocab)) for (const id of Object.values(vocab ?? {})) largest = Math.max(largest, id);
    for (const t of json.added_tokens ?? []) largest = Math.max(largest, t.id);
    this.vocabSize = largest + 1;
    const eos = config.eos_token;
    const named = typeof eos === 'string' ? eos : eos?.content;
    const candidates = [named, '<|endoftext|>', '</s>', '<|end_of_text|>'].filter((x): x is string => !!x);
    const found = candidates.find((t) => tok.token_to_id(t) !== undefined);
    if (found === undefined) throw new DataError(`${source}: no end-of-text token (tokenizer_config.json eos_token, or one of ${candidates.join(', ')})`);
    this.eosToken = found;
    this.eosId = tok.token_to_id(found) as number;
    const t = config.chat_template;
    this.chatTemplate = typeof t === 'string' ? t : t?.find((x) => x.name === 'default')?.template;
  }

  /** From a model folder (tokenizer.json beside it) or a tokenizer.json path; tokenizer_config.json is read beside it. */
  static load(path: string): HfTokenizer {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
    if (!existsSync(file)) throw new DataError(`${file}: no tokenizer.json (the model folder's tokenizer, or give model.tokenizer)`);
    const json = readJson(file, 'tokenizer') as ConstructorParameters<typeof HfTokenizerImpl>[0] & { model?: { vocab?: Record<string, number> } };
    const cfgFile = join(dirname(file), 'tokenizer_config.json');
    const config = (existsSync(cfgFile) ? readJson(cfgFile, 'tokenizer config') : {}) as TokenizerConfig;
    let tok: HfTokenizerImpl;
    try {
      tok = new HfTokenizerImpl(json, config);
    } catch (e) {
      throw new DataError(`${file}: not a tokenizer @huggingface/tokenizers can run (${(e as Error).message.split('\n')[0]})`);
    }
    return new HfTokenizer(tok, json, config, file);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Ids and each token's start in `text`, from the decoded lengths of the tokens before it (a byte-level token that
   * ends inside a character counts from where that character starts). Used only to flag tokens of labelled spans.
   */
  encodeWithOffsets(text: string): { ids: number[]; offsets: number[] } {
    const ids = this.encode(text);
    const offsets: number[] = [];
    for (let k = 0; k < ids.length; k++) offsets.push(Math.min(text.length, this.decode(ids.slice(0, k)).replace(/\uFFFD+$/, '').length));
    return { ids, offsets };
  }

  /** Text of `ids`; end-of-text tokens are dropped, as vpt's own tokenizer drops them. */
  decode(ids: readonly number[]): string {
    const kept = ids.filter((id) => id !== this.eosId);
    // The library refuses an empty list; an empty decoding (an immediate end-of-text) is the empty string.
    return kept.length ? this.tok.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '';
  }
}
