import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGsm8k, parseGoldAnswer } from '../harness/language/data/gsm8k.js';
import { sharedData, tmp } from './helpers.js';

describe('GSM8K loader', () => {
  it('reads the published JSONL: 7473 train and 1319 test rows, every gold answer parses', function () {
    const SHARED = sharedData(this, 'gsm8k/train.jsonl', 'gsm8k/test.jsonl');
    const train = loadGsm8k(join(SHARED, 'gsm8k', 'train.jsonl'));
    const test = loadGsm8k(join(SHARED, 'gsm8k', 'test.jsonl'));
    expect(train.length).to.equal(7473);
    expect(test.length).to.equal(1319);
    for (const item of [...train, ...test]) expect(parseGoldAnswer(item.answer), item.answer).to.be.a('string');
    expect(parseGoldAnswer(test[0]!.answer)).to.equal('18');
    // Real rows with thousands separators parse to plain digits.
    const withComma = [...train, ...test].find((t) => /#### -?\d{1,3},\d{3}/.test(t.answer));
    expect(withComma, 'a gold answer with a thousands comma').to.not.equal(undefined);
    expect(parseGoldAnswer(withComma!.answer)).to.match(/^-?\d{4,}$/);
  });

  it('parses thousands commas, negatives and decimals in gold answers', () => {
    expect(parseGoldAnswer('x\n#### 1,234')).to.equal('1234');
    expect(parseGoldAnswer('x\n#### -5')).to.equal('-5');
    expect(parseGoldAnswer('x\n#### 2.5')).to.equal('2.5');
    expect(parseGoldAnswer('no marker')).to.equal(undefined);
  });

  it('names the file and line of a malformed row', () => {
    const dir = tmp();
    const f = join(dir, 'bad.jsonl');
    writeFileSync(f, '{"question":"q","answer":"a #### 1"}\n{"question":3}\n');
    expect(() => loadGsm8k(f)).to.throw(`${f}:2: field 'question' must be a string`);
    writeFileSync(f, '{"question":"q","answer":"a #### 2"}\n{oops\n');
    expect(() => loadGsm8k(f)).to.throw(`${f}:2: invalid JSON`);
  });

  it('refuses an answer without a final "#### N" (an item that could never be scored), naming file and line', () => {
    const f = join(tmp(), 'nogold.jsonl');
    writeFileSync(f, '{"question":"q","answer":"x #### 4"}\n\n{"question":"q2","answer":"She has 3 apples."}\n');
    expect(() => loadGsm8k(f)).to.throw(`${f}:3: the answer has no final '#### N' with a number (it ends "She has 3 apples.")`);
    writeFileSync(f, '{"question":"q","answer":"x #### four"}\n');
    expect(() => loadGsm8k(f)).to.throw(`${f}:1: the answer has no final '#### N'`);
  });

  it('says a missing file is missing, in one line naming it', () => {
    const f = join(tmp(), 'absent.jsonl');
    expect(() => loadGsm8k(f)).to.throw(`${f}: no such file`);
  });
});
