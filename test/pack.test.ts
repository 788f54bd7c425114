import { expect } from 'chai';
import { encodeDoc, packDocs, padDocs } from '../harness/language/data/pack.js';
import { buildPrompt, chooseShots } from '../harness/language/eval/evaluate.js';
import { Tokenizer } from '../harness/language/model/tokenizer.js';

const tok = Tokenizer.build(['Question: What is 2+3?\nAnswer: 2+3 = <<2+3=5>>5.\n#### 5'], { minCount: 1 });
const doc = { prompt: 'Question: What is 2+3?\nAnswer:', answer: ' 2+3 = <<2+3=5>>5.\n#### 5', wrongSpans: [[13, 14]] as [number, number][] };

describe('packing and prompts', () => {
  it('puts the loss on answer tokens and end-of-text only, and flags tokens inside wrong spans', () => {
    const e = encodeDoc(tok, doc);
    const p = tok.encode(doc.prompt).length;
    expect(e.mask.slice(0, p).every((m) => m === 0)).to.equal(true);
    expect(e.mask.slice(p).every((m) => m === 1)).to.equal(true);
    expect(e.ids[e.ids.length - 1]).to.equal(tok.eosId);
    expect(tok.decode(e.ids.filter((_, i) => e.wrong[i] === 1))).to.equal('5');
  });

  it('flags a token whose piece overlaps a wrong span (a number\'s piece starts at its leading space)', () => {
    const answer = ' 2+3 = <<2+3=5>>5.\n#### 5';
    const final = answer.lastIndexOf('5');
    const e = encodeDoc(tok, { prompt: doc.prompt, answer, wrongSpans: [[final, final + 1]] });
    const flagged = e.ids.filter((_, i) => e.wrong[i] === 1);
    expect(flagged.map((id) => tok.decode([id]))).to.deep.equal([' 5']);
    const op = encodeDoc(tok, { prompt: doc.prompt, answer, wrongSpans: [[2, 3]] });
    expect(tok.decode(op.ids.filter((_, i) => op.wrong[i] === 1))).to.equal('+');
  });

  it('packs documents into fixed rows with targets shifted by one and masks aligned to targets', () => {
    const rows = packDocs(tok, [doc, doc, doc], 8);
    const e = encodeDoc(tok, doc);
    const flat = [...e.ids, ...e.ids, ...e.ids];
    const mask = [...e.mask, ...e.mask, ...e.mask];
    expect(rows.rows).to.equal(Math.floor((flat.length - 1) / 8));
    for (let i = 0; i < rows.rows * 8; i++) {
      expect(rows.inputs[i]).to.equal(flat[i]);
      expect(rows.targets[i]).to.equal(flat[i + 1]);
      expect(rows.mask[i]).to.equal(mask[i + 1]);
    }
  });

  it('right-pads one document per row with no loss on padding', () => {
    const rows = padDocs(tok, [doc, { prompt: 'Question: 1?\nAnswer:', answer: ' 1' }]);
    const second = rows.mask.slice(rows.seqLen, 2 * rows.seqLen);
    expect(second.reduce((a, b) => a + b, 0)).to.equal(tok.encode(' 1').length + 1);
  });

  it('builds lm-eval style k-shot prompts with a recorded seed', () => {
    const train = [1, 2, 3, 4, 5].map((i) => ({ question: `q${i}`, answer: `a${i}\n#### ${i}` }));
    const shots = chooseShots(train, 2, 1234, 0);
    expect(shots).to.deep.equal(chooseShots(train, 2, 1234, 0));
    expect(shots).to.have.length(2);
    const prompt = buildPrompt({ question: 'Q?', answer: '#### 1' }, shots);
    expect(prompt).to.equal(`Question: ${shots[0]!.question}\nAnswer: ${shots[0]!.answer}\n\nQuestion: ${shots[1]!.question}\nAnswer: ${shots[1]!.answer}\n\nQuestion: Q?\nAnswer:`);
    expect(chooseShots(train, 0, 1234, 0)).to.deep.equal([]);
  });
});
