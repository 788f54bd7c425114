import { expect } from 'chai';
import { join } from 'node:path';
import { exactMatch, flexibleExtract, INVALID, strictMatch } from '../harness/language/eval/extract.js';
import { loadGsm8k } from '../harness/language/data/gsm8k.js';
import { sharedData } from './helpers.js';

describe('GSM8K answer extraction (lm-eval gsm8k v3 rules)', () => {
  const cases: [string, string, string][] = [
    // [generation, strict-match, flexible-extract]
    ['She has 5+3=<<5+3=8>>8 apples.\n#### 8', '8', '8'],
    ['#### 1,000', '1,000', '1,000'],
    ['The answer is #### -12', '-12', '-12'],
    ['Total is $29.00 so #### 29.00', '29.00', '29.00'],
    ['so 7 plus 5 is 12', INVALID, '12'],
    ['no numbers here', INVALID, INVALID],
    ['#### 8.', '8.', '8.'],
    ['I think 3 then 45.', INVALID, '45.'],
  ];
  for (const [gen, strict, flex] of cases) {
    it(`extracts from ${JSON.stringify(gen)}`, () => {
      expect(strictMatch(gen)).to.equal(strict);
      expect(flexibleExtract(gen)).to.equal(flex);
    });
  }

  it('scores like lm-eval exact_match: commas, $ and trailing "." ignored; "29.00" is not "29"', () => {
    expect(exactMatch('1,000', 'blah\n#### 1000')).to.equal(true);
    expect(exactMatch('$18', '... #### 18')).to.equal(true);
    expect(exactMatch('8.', '#### 8')).to.equal(true);
    expect(exactMatch('29.00', '#### 29')).to.equal(false);
    expect(exactMatch('$29.00', '#### 29')).to.equal(false);
    expect(exactMatch(INVALID, '#### 29')).to.equal(false);
    expect(exactMatch('-3', '#### -3')).to.equal(true);
  });

  it('recovers every real GSM8K test gold answer from the gold solution itself', function () {
    const SHARED = sharedData(this, 'gsm8k/test.jsonl');
    const test = loadGsm8k(join(SHARED, 'gsm8k', 'test.jsonl'));
    const bad = test.filter((t) => !exactMatch(strictMatch(t.answer), t.answer));
    expect(bad.length).to.equal(0);
    // The flexible filter takes the last number, which is the final answer in gold solutions.
    const flexBad = test.filter((t) => !exactMatch(flexibleExtract(t.answer), t.answer));
    expect(flexBad.length).to.equal(0);
  });
});
