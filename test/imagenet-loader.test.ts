import { expect } from 'chai';
import { encode } from 'fast-png';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImageFolder, readSynsetMapping } from '../harness/vision/data/imagenet.js';
import { sniffFormat } from '../harness/vision/data/image-io.js';
import { sharedData, tmp } from './helpers.js';


describe('ImageNet ImageFolder loader', () => {
  it('reads the 1000-line synset mapping in order', function () {
    const IN = join(sharedData(this, 'imagenet/LOC_synset_mapping.txt', 'imagenet/sample'), 'imagenet');
    const mapping = readSynsetMapping(join(IN, 'LOC_synset_mapping.txt'));
    expect(mapping.synsets).to.have.length(1000);
    expect(mapping.index.get('n01440764')).to.equal(0);
    expect(mapping.names[1]).to.equal('goldfish');
  });

  it('decodes every sample and labels it with its folder synset', function () {
    const IN = join(sharedData(this, 'imagenet/LOC_synset_mapping.txt', 'imagenet/sample'), 'imagenet');
    const mapping = readSynsetMapping(join(IN, 'LOC_synset_mapping.txt'));
    const s = loadImageFolder(join(IN, 'sample'), mapping, { size: 32 });
    const dirs = readdirSync(join(IN, 'sample')).sort();
    expect(s.n).to.equal(dirs.length);
    s.ids.forEach((id, i) => {
      const synset = id.split('/')[0]!;
      expect(mapping.synsets[s.labels![i]!]).to.equal(synset);
    });
    // Real photos: not blank.
    const mean = s.images.reduce((a, b) => a + b, 0) / s.images.length;
    expect(mean).to.be.within(0.1, 0.9);
  });

  it('reads a PNG saved with a .JPEG name by its magic bytes, and names a corrupt file in one line', function () {
    const IN = join(sharedData(this, 'imagenet/LOC_synset_mapping.txt', 'imagenet/sample'), 'imagenet');
    const mapping = readSynsetMapping(join(IN, 'LOC_synset_mapping.txt'));
    const root = tmp();
    mkdirSync(join(root, 'n01443537'));
    mkdirSync(join(root, 'n01440764'));
    copyFileSync(join(IN, 'sample', 'n01440764', 'n01440764_tench.JPEG'), join(root, 'n01440764', 'a.JPEG'));
    const png = encode({ width: 4, height: 4, channels: 3, data: new Uint8Array(48).fill(200) });
    writeFileSync(join(root, 'n01443537', 'disguised.JPEG'), png);
    expect(sniffFormat(readFileSync(join(root, 'n01443537', 'disguised.JPEG')))).to.equal('png');
    const s = loadImageFolder(root, mapping, { size: 8 });
    expect(s.n).to.equal(2);
    expect(s.images[s.images.length - 1]).to.be.closeTo(200 / 255, 1e-6);
    writeFileSync(join(root, 'n01443537', 'broken.JPEG'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    const bad = join(root, 'n01443537', 'broken.JPEG');
    expect(() => loadImageFolder(root, mapping, { size: 8 })).to.throw(new RegExp(`1 bad file\\(s\\)[^\\n]*\\n${bad.replace(/[.]/g, '\\.')}: cannot decode as JPEG`));
    const skipped: string[] = [];
    const t = loadImageFolder(root, mapping, { size: 8, skipBad: true, onBadFile: (l) => skipped.push(l) });
    expect(t.n).to.equal(2);
    expect(skipped).to.have.length(1);
    expect(skipped[0]).to.match(/broken\.JPEG: cannot decode as JPEG/);
  });
});
