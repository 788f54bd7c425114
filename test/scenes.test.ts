import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import { CAMERA_HEIGHT, DEFAULT_SCENES, generateSceneData, generateScenes, insideShape, sceneLabelInfo, surfacePattern } from '../harness/vision/data/scenes.js';
import { splitHash } from '../harness/vision/data/load.js';

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

  it('labels behave as declared: type of the nearest shape (× its half), per-pixel classes and depth from the layout', () => {
    const S = 32;
    const d = generateScenes(16, S, new Rng(5), 't');
    const sided = generateScenes(16, S, new Rng(5), 't', { label: 'nearest-type-side', patterns: true });
    expect(Array.from(sided.images)).to.deep.equal(Array.from(d.images));
    const wrong: string[] = [];
    const check = (ok: boolean, what: string): void => {
      if (!ok && wrong.length < 5) wrong.push(what);
    };
    d.layouts.forEach((l, i) => {
      const near = l.shapes[l.shapes.length - 1]!;
      expect(d.labels![i]).to.equal(near.type);
      expect(sided.labels![i]).to.equal(near.type * 2 + (near.cx < S / 2 ? 0 : 1));
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

  it('uses every class, and image labels are roughly balanced under both label kinds', () => {
    for (const label of ['nearest-type', 'nearest-type-side'] as const) {
      const d = generateScenes(600, 32, new Rng(6), 'b', { label, patterns: true });
      const C = sceneLabelInfo(label).numClasses;
      expect(C).to.equal(label === 'nearest-type' ? 3 : 6);
      const counts = new Array(C).fill(0);
      for (const v of d.labels!) counts[v]++;
      for (const c of counts) expect(c).to.be.within(600 / C / 2, (600 / C) * 2);
      const seen = new Set(d.seg);
      expect([...seen].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    }
  });

  it('paints stripes by shape type (squares horizontal, triangles vertical, circles plain) only when patterns are on', () => {
    const base = { cx: 16, cy: 16, radius: 8, z: 2, rgb: [0.5, 0.5, 0.5] as [number, number, number] };
    // Half-period radius/4 = 2 px: rows (square) or columns (triangle) 0–2 px from the top/left edge are bright, 2–4 dark.
    expect(surfacePattern({ ...base, type: 1 }, 16, 9)).to.equal(1);
    expect(surfacePattern({ ...base, type: 1 }, 16, 11)).to.equal(0.6);
    expect(surfacePattern({ ...base, type: 1 }, 11, 9)).to.equal(surfacePattern({ ...base, type: 1 }, 21, 9));
    expect(surfacePattern({ ...base, type: 2 }, 9, 20)).to.equal(1);
    expect(surfacePattern({ ...base, type: 2 }, 11, 20)).to.equal(0.6);
    expect(surfacePattern({ ...base, type: 0 }, 11, 11)).to.equal(1);
    const on = generateScenes(8, 32, new Rng(7), 'p');
    const off = generateScenes(8, 32, new Rng(7), 'p', { label: 'nearest-type', patterns: false });
    expect(Array.from(off.seg!)).to.deep.equal(Array.from(on.seg!));
    const striped = on.layouts.some((l) => l.shapes.some((s) => s.type !== 0));
    expect(striped).to.equal(true);
    expect(Array.from(off.images)).to.not.deep.equal(Array.from(on.images));
  });
});
