/**
 * A pretrained vision backbone on the torch engine: a tiny random checkpoint in the Hugging Face
 * Dinov2WithRegistersModel layout (patch 14, 2 register tokens, layer scale; written here), named by `model.backbone`,
 * goes through a vision suite (baseline and v-pretraining) with its own "base checkpoint" reference row; a suite that
 * does not match the folder's config, a patch size that does not divide the crop, and a folder without weights are
 * each one line before any work. The same for a tiny DINOv3ViTModel folder (model_type dinov3_vit: RoPE positions,
 * q/k/v/o projections without a key bias, 4 registers, patch 16), with a config the harness refuses. The engine's
 * forwards against independent computations are harness/torch/tests/test_vision_dinov2.py and test_vision_dinov3.py.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../harness/engine/rng.js';
import { saveSafetensors, type TypedArrayTensor } from '../harness/engine/safetensors.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

/** A Dinov2WithRegistersModel folder of random weights: width 16, 2 layers, 2 heads, patch 14, checkpoint grid 2×2. */
function writeDinov2(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const D = 16;
  const Fh = 32;
  const config = {
    architectures: ['Dinov2WithRegistersModel'], model_type: 'dinov2_with_registers', hidden_size: D, num_hidden_layers: 2, num_attention_heads: 2,
    mlp_ratio: 2, patch_size: 14, image_size: 28, num_channels: 3, layer_norm_eps: 1e-6, hidden_act: 'gelu', qkv_bias: true, layerscale_value: 1,
    use_swiglu_ffn: false, num_register_tokens: 2,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const shapes: Record<string, number[]> = {
    'embeddings.cls_token': [1, 1, D], 'embeddings.mask_token': [1, D], 'embeddings.position_embeddings': [1, 5, D], 'embeddings.register_tokens': [1, 2, D],
    'embeddings.patch_embeddings.projection.weight': [D, 3, 14, 14], 'embeddings.patch_embeddings.projection.bias': [D],
    'layernorm.weight': [D], 'layernorm.bias': [D],
  };
  for (let i = 0; i < 2; i++) {
    const b = `encoder.layer.${i}.`;
    for (const n of ['norm1', 'norm2']) Object.assign(shapes, { [`${b}${n}.weight`]: [D], [`${b}${n}.bias`]: [D] });
    for (const n of ['attention.attention.query', 'attention.attention.key', 'attention.attention.value', 'attention.output.dense']) {
      Object.assign(shapes, { [`${b}${n}.weight`]: [D, D], [`${b}${n}.bias`]: [D] });
    }
    Object.assign(shapes, {
      [`${b}mlp.fc1.weight`]: [Fh, D], [`${b}mlp.fc1.bias`]: [Fh], [`${b}mlp.fc2.weight`]: [D, Fh], [`${b}mlp.fc2.bias`]: [D],
      [`${b}layer_scale1.lambda1`]: [D], [`${b}layer_scale2.lambda1`]: [D],
    });
  }
  const rng = new Rng(7);
  const tensors: Record<string, TypedArrayTensor> = {};
  for (const [k, shape] of Object.entries(shapes)) tensors[k] = { shape, data: rng.normals(shape.reduce((a, b) => a * b, 1), 0.1) };
  saveSafetensors(join(dir, 'model.safetensors'), tensors);
}

/** A DINOv3ViTModel folder of random weights: width 16, 2 layers, 2 heads (head dim 8), patch 16, 4 registers. */
function writeDinov3(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const D = 16;
  const Fh = 32;
  const config = {
    architectures: ['DINOv3ViTModel'], model_type: 'dinov3_vit', hidden_size: D, intermediate_size: Fh, num_hidden_layers: 2, num_attention_heads: 2,
    patch_size: 16, image_size: 224, num_channels: 3, layer_norm_eps: 1e-5, hidden_act: 'gelu', rope_theta: 100, num_register_tokens: 4,
    query_bias: true, key_bias: false, value_bias: true, proj_bias: true, mlp_bias: true, use_gated_mlp: false, layerscale_value: 1,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const shapes: Record<string, number[]> = {
    'embeddings.cls_token': [1, 1, D], 'embeddings.mask_token': [1, 1, D], 'embeddings.register_tokens': [1, 4, D],
    'embeddings.patch_embeddings.weight': [D, 3, 16, 16], 'embeddings.patch_embeddings.bias': [D], 'norm.weight': [D], 'norm.bias': [D],
  };
  for (let i = 0; i < 2; i++) {
    const b = `layer.${i}.`;
    for (const n of ['norm1', 'norm2']) Object.assign(shapes, { [`${b}${n}.weight`]: [D], [`${b}${n}.bias`]: [D] });
    for (const n of ['q', 'k', 'v', 'o']) Object.assign(shapes, { [`${b}attention.${n}_proj.weight`]: [D, D], ...(n === 'k' ? {} : { [`${b}attention.${n}_proj.bias`]: [D] }) });
    Object.assign(shapes, {
      [`${b}mlp.up_proj.weight`]: [Fh, D], [`${b}mlp.up_proj.bias`]: [Fh], [`${b}mlp.down_proj.weight`]: [D, Fh], [`${b}mlp.down_proj.bias`]: [D],
      [`${b}layer_scale1.lambda1`]: [D], [`${b}layer_scale2.lambda1`]: [D],
    });
  }
  const rng = new Rng(8);
  const tensors: Record<string, TypedArrayTensor> = {};
  for (const [k, shape] of Object.entries(shapes)) tensors[k] = { shape, data: rng.normals(shape.reduce((a, b) => a * b, 1), 0.1) };
  saveSafetensors(join(dir, 'model.safetensors'), tensors);
}

function suiteFile(dir: string, name: string, model: Record<string, unknown>, localSize = 14): string {
  const suite = {
    task: 'vision', name, seeds: [1], trainer: 'torch', torch: { device: 'cpu' },
    model: { imageSize: 28, patchSize: 14, width: 16, depth: 2, heads: 2, headHidden: 32, headBottleneck: 16, headOut: 64, headNorm: 'batch', ...model },
    data: { kind: 'embedded', unlabeled: 48, feedback: 16, probeTrain: 24, validation: 12, test: 12 },
    train: { steps: 6, batchSize: 4, warmupSteps: 1, logEvery: 1, augment: { localSize, nLocal: 2 }, dino: { ibotWeight: 1 } },
    design: { subsetBlocks: 1, burnIn: 2, metaEvery: 2, metaBatch: 2, feedbackBatch: 4, headSteps: 4, probeBatches: 0, designerLr: 0.05, designerScale: 2 },
    eval: {
      backbone: 'student', select: 'base', layers: { segmentation: 2, depth: 2, classification: 1 },
      lrGrid: [0.1], ridgeGrid: [0.01, 0.1], segmentationSteps: 4, classificationSteps: 10, batchImages: 8, bootstrap: 10,
    },
    arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }],
  };
  const f = join(dir, `${name}.suite.ts`);
  writeFileSync(f, `export default ${JSON.stringify(suite, null, 1)};\n`);
  return f;
}

const vpt = (cmd: string, args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), cmd, ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, all: true });

describe('a pretrained Dinov2-layout backbone through a vision suite on the torch engine', function () {
  let dir: string;
  let ck: string;

  before(async function () {
    await requireTorchOrSkip(this);
    dir = tmp('vpt-torch-vision-backbone-');
    ck = join(dir, 'dinov2-tiny');
    writeDinov2(ck);
  });

  it('continues pretraining from the checkpoint: every arm completes, beside the backbone\'s own reference row', async () => {
    const out = join(dir, 'out');
    const r = await vpt('run', [suiteFile(dir, 'backbone', { backbone: ck }), '--out', out, '--cache', join(dir, 'cache'), '--workers', '1']);
    expect(r.exitCode, (r.all ?? '').slice(-3000)).to.equal(0);
    for (const arm of ['baseline', 'v-pretraining']) {
      const cell = JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as {
        status: string; metrics: Record<string, { value: number }>; engine: { backend: string }; curves: { train: { loss: number }[]; designer?: unknown[] };
      };
      expect(cell.status).to.equal('completed');
      expect(cell.engine.backend).to.equal('torch');
      expect(cell.curves.train).to.have.length(6);
      expect(cell.curves.train.every((p) => Number.isFinite(p.loss))).to.equal(true);
      for (const k of ['miou,none', 'rmse,none', 'top1,none']) expect(Number.isFinite(cell.metrics[k]?.value)).to.equal(true);
      if (arm === 'v-pretraining') expect(cell.curves.designer).to.have.length(2);
    }
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).to.include('base checkpoint (before continued pretraining)');
    expect(summary).to.not.include('random-init backbone');
  });

  it('says in one line, before any work, where the suite and the folder disagree', async () => {
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      ['width', { backbone: ck, width: 32 }, 14, /model\.width: 32 does not match hidden_size 16 in .*config\.json/],
      ['patch', { backbone: ck, imageSize: 32, patchSize: 16 }, 16, /model\.patchSize: 16 does not match patch_size 14 in .*config\.json/],
      ['crop', { backbone: ck, imageSize: 30 }, 14, /model\.imageSize: 30 is not a multiple of the backbone's patch_size 14/],
      ['tfjs', { backbone: ck }, 14, /model\.backbone: a pretrained backbone trains on the torch engine/],
    ];
    for (const [name, model, local, want] of cases) {
      const f = suiteFile(dir, `bad-${name}`, model, local);
      const r = await vpt('validate', [f, ...(name === 'tfjs' ? ['--set', 'trainer=tfjs'] : [])]);
      expect(r.exitCode, `${name}: ${r.all}`).to.not.equal(0);
      expect(r.all ?? '', name).to.match(want);
    }
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'config.json'), readFileSync(join(ck, 'config.json')));
    const r = await vpt('validate', [suiteFile(dir, 'bad-weights', { backbone: empty })]);
    expect(r.exitCode).to.not.equal(0);
    expect(r.all ?? '').to.match(/model\.backbone: .*model\.safetensors: no such file/);
    rmSync(empty, { recursive: true, force: true });
  });
});

describe('a pretrained DINOv3-layout backbone through a vision suite on the torch engine', function () {
  let dir: string;
  let ck: string;

  before(async function () {
    await requireTorchOrSkip(this);
    dir = tmp('vpt-torch-vision-dinov3-');
    ck = join(dir, 'dinov3-tiny');
    writeDinov3(ck);
  });

  it('continues pretraining from the checkpoint at a crop other than its image_size: every arm completes', async () => {
    const out = join(dir, 'out');
    const model = { backbone: ck, imageSize: 32, patchSize: 16 };
    const r = await vpt('run', [suiteFile(dir, 'dinov3', model, 16), '--out', out, '--cache', join(dir, 'cache'), '--workers', '1']);
    expect(r.exitCode, (r.all ?? '').slice(-3000)).to.equal(0);
    for (const arm of ['baseline', 'v-pretraining']) {
      const cell = JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as {
        status: string; metrics: Record<string, { value: number }>; engine: { backend: string }; curves: { train: { loss: number }[]; designer?: unknown[] };
      };
      expect(cell.status).to.equal('completed');
      expect(cell.engine.backend).to.equal('torch');
      expect(cell.curves.train.every((p) => Number.isFinite(p.loss))).to.equal(true);
      for (const k of ['miou,none', 'rmse,none', 'top1,none']) expect(Number.isFinite(cell.metrics[k]?.value)).to.equal(true);
      if (arm === 'v-pretraining') expect(cell.curves.designer).to.have.length(2);
    }
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).to.include('base checkpoint (before continued pretraining)');
  });

  it('says in one line, before any work, what is wrong with a DINOv3 config or a suite that disagrees with it', async () => {
    const model = { backbone: ck, imageSize: 32, patchSize: 16 };
    let r = await vpt('validate', [suiteFile(dir, 'bad-v3-patch', { ...model, patchSize: 8 }, 16)]);
    expect(r.exitCode).to.not.equal(0);
    expect(r.all ?? '').to.match(/model\.patchSize: 8 does not match patch_size 16 in .*config\.json/);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model_type: 'dinov4' }, /model\.backbone: .*config\.json: model_type "dinov4" is not one of 'dinov2', 'dinov2_with_registers', 'dinov3_vit'/],
      [{ hidden_size: 24, num_attention_heads: 4 }, /model\.backbone: .*config\.json: head dim 6 \(hidden_size \/ num_attention_heads\) is not a multiple of 4/],
      [{ num_hidden_layers: undefined }, /model\.backbone: .*config\.json: missing number 'num_hidden_layers'/],
    ];
    for (const [edit, want] of cases) {
      const bad = join(dir, `bad-${Object.keys(edit).join('-')}`);
      mkdirSync(bad, { recursive: true });
      writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8')), ...edit }));
      writeFileSync(join(bad, 'model.safetensors'), readFileSync(join(ck, 'model.safetensors')));
      r = await vpt('validate', [suiteFile(dir, `bad-v3-${Object.keys(edit)[0]}`, { ...model, backbone: bad }, 16)]);
      expect(r.exitCode).to.not.equal(0);
      expect(r.all ?? '', JSON.stringify(edit)).to.match(want);
    }
  });
});
