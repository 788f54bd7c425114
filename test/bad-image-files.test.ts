/**
 * A vision suite whose files cannot be used names each bad file (up to five, then a count) with its reason on the
 * one line `vpt` prints: a missing ADE20K annotation, a garbage JPEG in a split or in the unlabelled folder, a garbage
 * annotation PNG.
 */
import { expect } from 'chai';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt } from './helpers.js';

/** A tiny ADE20K layout (6 images per split), 8 unlabelled images and a vision suite over them. */
function visionFiles(root: string): { suite: string; ade: string; unlabeled: string } {
  const jpg = (seed: number): Buffer => {
    const data = Buffer.alloc(40 * 32 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 17) % 256;
    return Buffer.from(jpeg.encode({ data, width: 40, height: 32 }, 90).data);
  };
  const ann = encodePng({ width: 40, height: 32, data: Uint8Array.from({ length: 40 * 32 }, (_, i) => i % 151), channels: 1, depth: 8 });
  const ade = join(root, 'ade', 'ADEChallengeData2016');
  for (const split of ['training', 'validation']) {
    mkdirSync(join(ade, 'images', split), { recursive: true });
    mkdirSync(join(ade, 'annotations', split), { recursive: true });
    for (let i = 0; i < 6; i++) {
      writeFileSync(join(ade, 'images', split, `ADE_${i}.jpg`), jpg(i));
      writeFileSync(join(ade, 'annotations', split, `ADE_${i}.png`), ann);
    }
  }
  const unlabeled = join(root, 'unlabeled');
  mkdirSync(unlabeled);
  for (let i = 0; i < 8; i++) writeFileSync(join(unlabeled, `u${i}.jpg`), jpg(50 + i));
  const suite = {
    task: 'vision', name: 'vision-files', seeds: [1],
    model: { imageSize: 16, patchSize: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, headHidden: 16, headBottleneck: 8, headOut: 16 },
    data: { kind: 'files', unlabeled, ade20k: join(root, 'ade'), validationFraction: 0.2, feedbackFraction: 0.2 },
    base: { steps: 1, batchSize: 2 }, train: { steps: 1, batchSize: 2 },
    arms: [{ arm: 'baseline' }],
  };
  const file = join(root, 'vision-files.suite.ts');
  writeFileSync(file, `export default ${JSON.stringify(suite)};\n`);
  return { suite: file, ade, unlabeled };
}

async function validate(suite: string): Promise<string> {
  const r = await vpt(['validate', suite]);
  expect(r.exitCode, r.stderr).to.equal(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, 'one line').to.have.length(1);
  return lines[0] as string;
}

describe('bad image files: each named with its reason on one line', () => {
  it('the layout is valid as written', async () => {
    const f = visionFiles(tmp());
    const r = await vpt(['validate', f.suite]);
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('a missing ADE20K annotation names the annotation and its image', async () => {
    const f = visionFiles(tmp());
    rmSync(join(f.ade, 'annotations', 'training', 'ADE_2.png'));
    expect(await validate(f.suite)).to.equal(`vpt: data: 1 bad file(s) in ADE20K training (${f.ade}): annotations/training/ADE_2.png: missing (the annotation of ADE_2.jpg)`);
  });

  it('a garbage JPEG in a split and a garbage annotation PNG, each with what its bytes are', async () => {
    const f = visionFiles(tmp());
    writeFileSync(join(f.ade, 'images', 'training', 'ADE_3.jpg'), 'garbage');
    writeFileSync(join(f.ade, 'annotations', 'training', 'ADE_1.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    expect(await validate(f.suite)).to.match(
      new RegExp(`^vpt: data: 2 bad file\\(s\\) in ADE20K training \\(${f.ade}\\): annotations/training/ADE_1\\.png: cannot decode as PNG: .+; images/training/ADE_3\\.jpg: not a PNG or JPEG \\(starts with 67 61 72 62\\)$`),
    );
  });

  it('garbage JPEGs in the unlabelled folder: the first five, then how many more', async () => {
    const f = visionFiles(tmp());
    writeFileSync(join(f.unlabeled, 'u1.jpg'), 'junk');
    const one = await validate(f.suite);
    expect(one).to.equal(`vpt: data: 1 bad file(s) in ${f.unlabeled}: u1.jpg: not a PNG or JPEG (starts with 6a 75 6e 6b)`);
    for (let i = 0; i < 8; i++) writeFileSync(join(f.unlabeled, `u${i}.jpg`), Buffer.from([0xff, 0xd8, 0xff, 0, 1]));
    const all = await validate(f.suite);
    expect(all).to.match(new RegExp(`^vpt: data: 8 bad file\\(s\\) in ${f.unlabeled}: u0\\.jpg: cannot decode as JPEG: [^;]+(; u[1-4]\\.jpg: cannot decode as JPEG: [^;]+){4}; and 3 more$`));
  });
});
