import { expect } from 'chai';
import { join } from 'node:path';
import { loadGsm8k } from '../harness/language/data/gsm8k.js';
import { Tokenizer } from '../harness/language/model/tokenizer.js';
import { sharedData, tmp } from './helpers.js';

describe('tokenizer', () => {
  const corpus = ['Ava has 3*4 = <<3*4=12>>12 apples.\n#### 12', 'Ben buys 5 pens for $2 each.'];

  it('is lossless on arbitrary text, including bytes outside the vocabulary', () => {
    const tok = Tokenizer.build(corpus, { minCount: 1 });
    for (const s of ['Ava has 12 apples.', 'naïve café – 1,234.5 €', 'tabs\tand  spaces\n\nend', '']) {
      expect(tok.decode(tok.encode(s))).to.equal(s);
    }
  });

  it('makes small whole numbers single tokens', () => {
    const tok = Tokenizer.build(corpus, { maxNumber: 200 });
    expect(tok.encode(' 137')).to.have.length(1);
    expect(tok.encode('137')).to.have.length(1);
    expect(tok.encode(' 1370').length).to.be.greaterThan(1);
  });

  it('builds the same vocabulary from the same corpus, and saves/loads it', () => {
    const a = Tokenizer.build(corpus);
    const b = Tokenizer.build([...corpus]);
    expect(a.pieces).to.deep.equal(b.pieces);
    const f = join(tmp(), 'tokenizer.json');
    a.save(f);
    expect(Tokenizer.load(f).pieces).to.deep.equal(a.pieces);
  });

  it('round-trips every real GSM8K test problem', function () {
    const SHARED = sharedData(this, 'gsm8k/test.jsonl');
    const test = loadGsm8k(join(SHARED, 'gsm8k', 'test.jsonl'));
    const tok = Tokenizer.build(test.slice(0, 200).map((t) => t.question + t.answer));
    for (const t of test) expect(tok.decode(tok.encode(t.question + '\n' + t.answer))).to.equal(t.question + '\n' + t.answer);
  });
});
