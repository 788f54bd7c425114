/**
 * A DINO learner instance: student ViT + projection head (trainable), the EMA teacher (same shapes) and the
 * centre. Saved as one safetensors file (`student.*`, `teacher.*`, `center`) with config.json beside it, so
 * continued pretraining resumes the exact state the base stage ended in.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { loadSafetensors, saveSafetensors, type NamedArray } from '../engine/safetensors.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { headParameterShapes, initHeadParams, type HeadConfig } from './head.js';
import { checkVitConfig, initVitParams, vitParameterShapes, type HostArrays, type Params, type VitConfig } from './vit.js';

export interface DinoModelConfig {
  vit: VitConfig;
  head: HeadConfig;
}

export function dinoParameterShapes(cfg: DinoModelConfig): Record<string, number[]> {
  return { ...vitParameterShapes(cfg.vit), ...headParameterShapes(cfg.vit.width, cfg.head) };
}

/** Which network's backbone a frozen evaluation reads. DINO evaluates the teacher. */
export type BackboneChoice = 'teacher' | 'student';

export class DinoModel {
  private constructor(
    readonly cfg: DinoModelConfig,
    /** Trainable: backbone + head. */
    readonly student: Record<string, tf.Variable>,
    /** EMA of the student (not trainable). */
    readonly teacher: Record<string, tf.Variable>,
    /** Centre of the teacher's logits [K]. */
    readonly center: tf.Variable,
  ) {}

  /** A fresh learner: student drawn from `rng`, teacher a copy of the student, centre zero. */
  static init(cfg: DinoModelConfig, rng: Rng): DinoModel {
    checkVitConfig(cfg.vit);
    const arrays: HostArrays = { ...initVitParams(cfg.vit, rng.fork('vit')), ...initHeadParams(cfg.vit.width, cfg.head, rng.fork('head')) };
    const pick = (prefix: string): Record<string, NamedArray> =>
      Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${prefix}${k}`, v]));
    return DinoModel.fromArrays(cfg, { ...pick('student.'), ...pick('teacher.'), center: { shape: [cfg.head.out], data: new Float32Array(cfg.head.out) } });
  }

  static fromArrays(cfg: DinoModelConfig, arrays: Record<string, NamedArray>, source = 'checkpoint'): DinoModel {
    const shapes = dinoParameterShapes(cfg);
    const load = (name: string, shape: number[], trainable: boolean): tf.Variable => {
      const a = arrays[name];
      if (!a) throw new Error(`${source} lacks tensor '${name}'`);
      if (JSON.stringify(a.shape) !== JSON.stringify(shape)) {
        throw new Error(`${source}: tensor '${name}' has shape ${JSON.stringify(a.shape)}, config expects ${JSON.stringify(shape)}`);
      }
      // tf.variable(t) keeps t alive: release the initial tensor, the variable holds the data.
      const t = tf.tensor(a.data, shape, 'float32');
      const v = tf.variable(t, trainable);
      t.dispose();
      return v;
    };
    const student: Record<string, tf.Variable> = {};
    const teacher: Record<string, tf.Variable> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      student[name] = load(`student.${name}`, shape, true);
      teacher[name] = load(`teacher.${name}`, shape, false);
    }
    return new DinoModel(cfg, student, teacher, load('center', [cfg.head.out], false));
  }

  /** Parameters of the chosen network (backbone and head) for the functional forward. */
  params(which: BackboneChoice): Params {
    return which === 'student' ? this.student : this.teacher;
  }

  toArrays(): Record<string, NamedArray> {
    const out: Record<string, NamedArray> = {};
    for (const [k, v] of Object.entries(this.student)) out[`student.${k}`] = { shape: v.shape, data: v.dataSync() as Float32Array };
    for (const [k, v] of Object.entries(this.teacher)) out[`teacher.${k}`] = { shape: v.shape, data: v.dataSync() as Float32Array };
    out.center = { shape: this.center.shape, data: this.center.dataSync() as Float32Array };
    return out;
  }

  save(dir: string, meta: Record<string, unknown> = {}): void {
    saveSafetensors(join(dir, 'model.safetensors'), this.toArrays(), { format: 'vpt-dino-vit' });
    writeJsonAtomic(join(dir, 'config.json'), { architecture: 'vpt-dino-vit', ...this.cfg, ...meta });
  }

  static load(dir: string): DinoModel {
    const file = join(dir, 'config.json');
    const conf = JSON.parse(readFileSync(file, 'utf8')) as Partial<DinoModelConfig>;
    if (!conf.vit) throw new Error(`${file}: missing key 'vit'`);
    if (!conf.head) throw new Error(`${file}: missing key 'head'`);
    const st = join(dir, 'model.safetensors');
    return DinoModel.fromArrays({ vit: conf.vit, head: conf.head }, loadSafetensors(st).tensors, st);
  }

  dispose(): void {
    for (const v of [...Object.values(this.student), ...Object.values(this.teacher), this.center]) v.dispose();
  }
}
