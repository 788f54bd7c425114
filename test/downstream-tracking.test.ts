import { expect } from 'chai';
import { join } from 'node:path';
import { loadData } from '../harness/language/data/sources.js';
import { answerNll } from '../harness/language/eval/evaluate.js';
import { baseDir } from '../harness/language/train/base.js';
import { LanguageModel } from '../harness/language/model/model.js';
import { runCell } from '../harness/runner/cell.js';
import { expandCells } from '../harness/suite/expand.js';
import type { LanguageSuite } from '../harness/language/schema.js';
import { splitValidation } from '../harness/language/data/gsm8k.js';
import { microSuite, tmp, useWasm } from './helpers.js';

describe('downstream loss tracked during training (validation slice)', () => {
  before(useWasm);

  it('holds the last problems of train out of the feedback pool', () => {
    const train = Array.from({ length: 10 }, (_, i) => ({ question: `q${i}`, answer: `#### ${i}` }));
    const { pool, validation } = splitValidation(train, 3);
    expect(validation.map((x) => x.question)).to.deep.equal(['q7', 'q8', 'q9']);
    expect(pool).to.have.length(7);
    expect(splitValidation(train, 0).validation).to.have.length(0);
  });

  it('records the NLL before training (equal to the base checkpoint\'s on the slice) and after each log point', async () => {
    const s = microSuite({ eval: { gsm8k: { limit: 4, maxNewTokens: 8 }, downstream: { size: 6 } } }) as LanguageSuite;
    const cache = tmp();
    const r = await runCell(s, expandCells(s)[0]!, { dir: join(tmp(), 'c'), cacheDir: cache });
    const curve = r.curves.downstream as { step: number; nll: number }[];
    // train.steps 4, logEvery 2: log points after updates 1, 3 and the last (4).
    expect(curve.map((p) => p.step)).to.deep.equal([0, 1, 3, 4]);
    const data = await loadData(s.data, cache);
    const base = LanguageModel.load(baseDir(s, data, cache));
    try {
      const expected = (await answerNll(base, data.train.slice(-6))).value;
      expect(curve[0]?.nll).to.be.closeTo(expected, 1e-6);
    } finally {
      base.dispose();
    }
    expect(curve[3]?.nll).to.not.equal(curve[0]?.nll);
  });
});
