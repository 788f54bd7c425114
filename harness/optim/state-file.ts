/**
 * An AdamW state as a safetensors file (`m.<variable>`, `v.<variable>` flat F32; the update count in the metadata),
 * so a checkpoint can carry the optimiser that trained it and a later stage, on either engine, can continue it.
 */
import { existsSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, type TypedArrayTensor } from '../engine/safetensors.js';
import type { AdamWState } from './adamw.js';

export function saveAdamWState(path: string, state: AdamWState): void {
  const tensors: Record<string, TypedArrayTensor> = {};
  for (const [name, a] of Object.entries(state.m)) tensors[`m.${name}`] = { shape: [a.length], data: a };
  for (const [name, a] of Object.entries(state.v)) tensors[`v.${name}`] = { shape: [a.length], data: a };
  saveSafetensors(path, tensors, { format: 'vpt-adamw', updates: String(state.updates) });
}

/** The state saved at `path`; a missing file or a file of another format is one line naming it. */
export function loadAdamWState(path: string): AdamWState {
  if (!existsSync(path)) throw new Error(`${path}: no such file (the optimiser state of a checkpoint)`);
  const { tensors, metadata } = loadSafetensors(path);
  const updates = Number(metadata.updates);
  if (metadata.format !== 'vpt-adamw' || !Number.isInteger(updates) || updates < 0) {
    throw new Error(`${path}: not a vpt AdamW state (metadata format ${JSON.stringify(metadata.format)}, updates ${JSON.stringify(metadata.updates)})`);
  }
  const state: AdamWState = { updates, m: {}, v: {} };
  for (const [key, t] of Object.entries(tensors)) {
    const dot = key.indexOf('.');
    const which = key.slice(0, dot);
    if (which !== 'm' && which !== 'v') throw new Error(`${path}: tensor '${key}' is neither m.<variable> nor v.<variable>`);
    state[which][key.slice(dot + 1)] = t.data;
  }
  return state;
}
