/**
 * A tiny random Qwen2-layout checkpoint (bfloat16, written by the test, with a byte-level tokenizer.json) through
 * `vpt run` on both engines, full-parameter and LoRA, baseline and v-pretraining: the harness tokenises and draws,
 * tfjs (wasm) and torch (CPU, float32, the same finite-difference D) train from the same weights and adapters, and
 * agree step by step within the torch agreement test's tolerances (test/torch-agreement.test.ts) and on their
 * greedy decodings; a bad checkpoint or tokenizer is one line before any work.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { writeByteTokenizer, writeTinyDecoder } from './hf-fixtures.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

const CLI = join(REPO_ROOT, 'harness', 'cli', 'main.ts');
const vpt = (args: string[]) => execa(process.execPath, ['--import', 'tsx', CLI, ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, all: true });

const LORA = { lora: { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] } };

function suite(dir: string, model: string, trainable: unknown, name: string): string {
  const s = {
    name,
    seeds: [1],
    backend: 'wasm',
    data: { kind: 'embedded', trainSize: 64, testSize: 4, baseSize: 40, streamSize: 200, corruptFraction: 0.3 },
    model: { kind: 'hf', path: model, blockSize: 48, trainable },
    train: { steps: 8, batchSize: 4, warmupSteps: 1, logEvery: 1, lr: 3e-3 },
    design: { topK: 4, metaEvery: 2, burnIn: 2, feedbackSize: 12, feedbackBatch: 3, designerWidth: 16, designerLr: 0.05, probeBatches: 0, subsetBlocks: 1 },
    eval: { gsm8k: { limit: 3, maxNewTokens: 6 }, downstream: { size: 6 } },
    arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }],
  };
  const f = join(dir, `${name}.suite.ts`);
  writeFileSync(f, `export default ${JSON.stringify(s)};\n`);
  return f;
}

type Curve = { step: number; loss: number }[];
const cell = (out: string, arm: string) => JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as {
  status: string; error?: string; engine?: { backend: string }; curves: { train: Curve; designer?: { value: number | null }[] }; diagnostics: Record<string, number>;
};
const decodings = (out: string, arm: string) => readFileSync(join(out, 'cells', arm, 'seed-1', 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { generation: string }).generation);

describe('a pretrained checkpoint (Hugging Face layout) through vpt run on both engines', function () {
  let dir: string;
  let model: string;

  before(async function () {
    await requireTorchOrSkip(this);
    dir = tmp('vpt-hf-run-');
    model = join(dir, 'tiny-qwen2');
    writeTinyDecoder(model, { arch: 'qwen2', vocab: 264, hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, tied: true, maxPositions: 1024 }, 7);
    writeByteTokenizer(model);
  });

  for (const [title, trainable] of [['full-parameter', 'full'], ['LoRA', LORA]] as const) {
    it(`${title}: tfjs and torch take the same steps from the same checkpoint, and decode alike`, async () => {
      const name = `hf-${title === 'LoRA' ? 'lora' : 'full'}`;
      const f = suite(dir, model, trainable, name);
      const cache = join(dir, 'cache');
      const [a, b] = [join(dir, `${name}-tfjs`), join(dir, `${name}-torch`)];
      const ra = await vpt(['run', f, '--out', a, '--cache', cache, '--workers', '2']);
      expect(ra.exitCode, ra.all).to.equal(0);
      const rb = await vpt(['run', f, '--out', b, '--cache', cache, '--workers', '2', '--trainer', 'torch', '--set', 'torch.device=cpu', '--set', 'torch.directional=differences']);
      expect(rb.exitCode, rb.all).to.equal(0);
      for (const arm of ['baseline', 'v-pretraining']) {
        const [x, y] = [cell(a, arm), cell(b, arm)];
        expect(y.engine?.backend).to.equal('torch');
        expect(x.curves.train.map((p) => p.step)).to.deep.equal(y.curves.train.map((p) => p.step));
        x.curves.train.forEach((p, i) => expect(Math.abs(p.loss - y.curves.train[i]!.loss), `${title} ${arm} step ${p.step}: ${p.loss} vs ${y.curves.train[i]!.loss}`).to.be.at.most(2e-3));
        expect(decodings(b, arm), `${title} ${arm} decodings`).to.deep.equal(decodings(a, arm));
      }
      const [vx, vy] = [cell(a, 'v-pretraining').curves.designer ?? [], cell(b, 'v-pretraining').curves.designer ?? []];
      expect(vx.length).to.be.greaterThan(0);
      vx.forEach((p, i) => {
        if (p.value === null) return;
        expect(Math.abs((vy[i]?.value as number) - p.value), `V ${vy[i]?.value} vs ${p.value}`).to.be.at.most(5e-2 * Math.abs(p.value) + 2e-4);
      });
    });
  }

  it('a checkpoint without config.json, a missing shard, an unknown architecture, a foreign tokenizer or an unknown LoRA target is one line before any work', async () => {
    const bad = join(dir, 'bad');
    const cases: [string, () => void, RegExp][] = [
      ['no config.json', () => {
        writeTinyDecoder(bad, { arch: 'qwen2', vocab: 264, hidden: 16, layers: 1, heads: 2, kvHeads: 2, intermediate: 16, tied: true });
        writeByteTokenizer(bad);
        rmSync(join(bad, 'config.json'));
      }, /model\.path: .*bad has no config\.json/],
      ['a missing shard', () => {
        rmSync(bad, { recursive: true, force: true });
        writeTinyDecoder(bad, { arch: 'qwen2', vocab: 264, hidden: 16, layers: 1, heads: 2, kvHeads: 2, intermediate: 16, tied: true }, 1, 2);
        writeByteTokenizer(bad);
        rmSync(join(bad, 'model-00002-of-00002.safetensors'));
      }, /model\.safetensors\.index\.json: shard model-00002-of-00002\.safetensors is missing/],
      ['an unknown architecture', () => {
        rmSync(bad, { recursive: true, force: true });
        writeTinyDecoder(bad, { arch: 'qwen2', vocab: 264, hidden: 16, layers: 1, heads: 2, kvHeads: 2, intermediate: 16, tied: true });
        writeByteTokenizer(bad);
        const c = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8')) as Record<string, unknown>;
        writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...c, architectures: ['MambaForCausalLM'], model_type: 'mamba' }));
      }, /config\.json: architecture 'MambaForCausalLM' is not one vpt runs/],
      ['a tokenizer of another model', () => {
        rmSync(bad, { recursive: true, force: true });
        writeTinyDecoder(bad, { arch: 'qwen2', vocab: 200, hidden: 16, layers: 1, heads: 2, kvHeads: 2, intermediate: 16, tied: true });
        writeByteTokenizer(bad);
      }, /model\.tokenizer: .*tokenizer\.json has 257 tokens, more than the model's vocab_size 200/],
    ];
    for (const [what, make, message] of cases) {
      make();
      const r = await vpt(['validate', suite(dir, bad, 'full', 'hf-bad')]);
      expect(r.exitCode, `${what}: ${r.all}`).to.equal(2);
      expect(r.stderr.trim().split('\n'), what).to.have.length(1);
      expect(r.stderr, what).to.match(message);
    }
    const lora = await vpt(['validate', suite(dir, model, { lora: { targets: ['q_proj', 'c_attn'] } }, 'hf-bad')]);
    expect(lora.exitCode).to.equal(2);
    expect(lora.stderr.trim()).to.match(/^vpt: model\.trainable\.lora\.targets: c_attn is not a module of Qwen2ForCausalLM \(its projections: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj\)$/);
  });
});
