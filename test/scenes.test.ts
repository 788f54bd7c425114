import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import { CAMERA_HEIGHT, DEFAULT_SCENES, generateSceneData, generateScenes, insideShape, SCENE_LABELS } from '../harness/data/vision/scenes.js';
import { splitHash } from '../harness/data/vision/load.js';

describe('embedded scene generator', () => {
  const small = { ...DEFAULT_SCENES, unlabeled: 8, feedback: 4, probeTrain: 8, validation: 4, test: 6 };

  it('is deterministic, and each split has its own stream (resizing one leaves the others unchanged)', () => {
    const a = generateSceneData(small);
    const b = generateSceneData(small);
    for (const k of Object.keys(a) as (keyof typeof a)[]) expect(splitHash(a[k])).to.equal(splitHash(b[k]));
    const c = generateSceneData({ ...small, unlabeled: 12 });
    expect(splitHash(c.test)).to.equal(splitHash(a.test));
    expect(splitHash(c.unlabeled)).to.not.equal(splitHash(a.unlabeled));
    expect(splitHash(generateSceneData({ ...small, seed: 99 }).test)).to.not.equal(splitHash(a.test));
  });

  it('labels behave as declared: class of the nearest shape × its half, per-pixel classes and depth from the layout', () => {
    const S = 32;
    const d = generateScenes(16, S, new Rng(5), 't');
    const wrong: string[] = [];
    const check = (ok: boolean, what: string): void => {
      if (!ok && wrong.length < 5) wrong.push(what);
    };
    d.layouts.forEach((l, i) => {
      const near = l.shapes[l.shapes.length - 1]!;
      expect(d.labels![i]).to.equal(near.type * 2 + (near.cx < S / 2 ? 0 : 1));
      expect(l.shapes.map((s) => s.z)).to.deep.equal([...l.shapes.map((s) => s.z)].sort((x, y) => y - x));
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
        const p = i * S * S + y * S + x;
        const cls = d.seg![p]!;
        const depth = d.depth![p]!;
        const covering = l.shapes.filter((s) => insideShape(s, x + 0.5, y + 0.5));
        if (covering.length > 0) {
          // Occlusion: the nearest covering shape wins, and its depth is the pixel's.
          const front = covering.reduce((a, s) => (s.z < a.z ? s : a));
          check(cls === 2 + front.type && Math.abs(depth - front.z) < 1e-5, `scene ${i} (${x},${y}): shape`);
        } else if (y + 0.5 < l.wallBase) {
          check(cls === 0 && Math.abs(depth - l.wallDepth) < 1e-5, `scene ${i} (${x},${y}): wall`);
        } else {
          // Perspective: floor depth f·h/(y − horizon), never beyond the wall.
          const z = (S * CAMERA_HEIGHT) / (y + 0.5 - l.horizon);
          check(cls === 1 && Math.abs(depth - z) < 1e-3 && depth <= l.wallDepth + 1e-4, `scene ${i} (${x},${y}): floor`);
        }
      }
    });
    expect(wrong).to.deep.equal([]);
  });

  it('uses every class, and image labels are roughly balanced', () => {
    const d = generateScenes(600, 32, new Rng(6), 'b');
    const counts = new Array(SCENE_LABELS.numClasses).fill(0);
    for (const v of d.labels!) counts[v]++;
    for (const c of counts) expect(c).to.be.within(600 / 6 / 2, (600 / 6) * 2);
    const seen = new Set(d.seg);
    expect([...seen].sort()).to.deep.equal([0, 1, 2, 3, 4]);
  });
});
