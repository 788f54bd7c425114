/**
 * The continued stage's settings (issue 24): separate feedback images for the heads and for g_down
 * (design.metaFraction), the base stage's optimiser continued (train.optimizer), and probes that report the
 * validation split (eval.report) so a setting can be chosen without looking at test.
 */
import { expect } from 'chai';
import { loadVisionData, type VisionData } from '../harness/vision/data/load.js';
import { feedbackSources, partitionFeedback } from '../harness/vision/designer/feedback.js';
import { probeTasks } from '../harness/vision/evaluate.js';
import { parseVisionConfig } from '../harness/vision/schema.js';

const data: VisionData = loadVisionData(parseVisionConfig({ data: { kind: 'embedded', unlabeled: 4, feedback: 40, probeTrain: 6, validation: 5, test: 7 } }).data, 16);

describe('the continued stage: head and meta feedback sets, the optimiser state, validation reports', () => {
  it('keeps the last share of each feedback split for meta batches and gives the heads the rest, disjoint', () => {
    const sources = feedbackSources(data, { seg: 1, depth: 1 });
    const [p] = partitionFeedback(sources, 0.25, 8);
    expect(p!.meta).to.deep.equal([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    expect(p!.head).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    // At 0 both sets are every image (the heads refit on g_down's own batch, as before the key existed).
    const [q] = partitionFeedback(sources, 0, 8);
    expect(q!.meta).to.deep.equal(q!.head);
    expect(q!.meta.length).to.equal(40);
  });

  it('says in one line when a side has fewer images than a feedback batch', () => {
    const sources = feedbackSources(data, { seg: 1, depth: 1 });
    expect(() => partitionFeedback(sources, 0.1, 8)).to.throw(/design.metaFraction 0.1 splits the 40 segmentation \+ depth feedback images into 36 for the heads and 4 for meta batches; each side needs at least design.feedbackBatch 8/);
  });

  it('refuses to continue the optimiser of a pretrained backbone, which has none', () => {
    expect(() => parseVisionConfig({ model: { backbone: '/some/dinov2', patchSize: 4 }, train: { optimizer: 'continued' } })).to.throw(/train.optimizer 'continued' needs the base stage's optimiser state/);
    expect(parseVisionConfig({ train: { optimizer: 'continued' } }).train.optimizer).to.equal('continued');
    expect(parseVisionConfig({}).train.optimizer).to.equal('fresh');
  });

  it('reports the validation split in place of test with eval.report validation, every probe alike', () => {
    const test = probeTasks(data, parseVisionConfig({}).eval);
    const val = probeTasks(data, parseVisionConfig({ eval: { report: 'validation' } }).eval);
    for (const name of ['segmentation', 'depth', 'classification'] as const) {
      expect(test[name]!.test.n).to.equal(7);
      expect(val[name]!.test).to.equal(val[name]!.validation);
      expect(val[name]!.train).to.equal(test[name]!.train);
    }
  });
});
