/**
 * The embedded vision default: a seeded generator of small indoor-like scenes (no downloads). A pinhole camera
 * 1.5 m above a checkered floor that meets a back wall; 1–3 flat shapes (depth biased toward the camera) (circle, square, triangle) stand on the
 * floor at random depths, sized by perspective and painted far to near, so nearer shapes occlude farther ones.
 * Colours are drawn from one distribution for walls, floors and shapes, so colour alone says nothing about class.
 *
 * Shapes carry a surface pattern per type (circles plain, squares horizontal stripes, triangles vertical
 * stripes), so their type survives colour changes.
 *
 * Annotations: per-pixel class (wall, floor, circle, square, triangle), per-pixel depth in metres from the
 * geometry (floor: f·h/(y − horizon); wall and shapes: their distance), and an image label: by default the type
 * of the nearest shape (3 classes, unchanged by DINO's crops, flips and colour jitter), or that type × which half
 * of the image its centre is in (6 classes; a flip changes it).
 */
import { Rng } from '../../engine/rng.js';
import type { VisionLabelInfo, VisionSplit } from './types.js';

export const SCENE_SEG_NAMES = ['wall', 'floor', 'circle', 'square', 'triangle'] as const;
export const SHAPE_NAMES = ['circle', 'square', 'triangle'] as const;
/** The image label: 'nearest-type' (3 classes) or 'nearest-type-side' (type × half of the image, 6 classes). */
export type SceneLabelKind = 'nearest-type' | 'nearest-type-side';
export function sceneClassNames(label: SceneLabelKind): string[] {
  return label === 'nearest-type' ? [...SHAPE_NAMES] : SHAPE_NAMES.flatMap((s) => [`${s}-left`, `${s}-right`]);
}
/** Camera height above the floor, metres. */
export const CAMERA_HEIGHT = 1.5;
/** Farthest back wall, metres (the depth probe's range). */
export const SCENE_MAX_DEPTH = 9;

/** What the scenes' labels are, for a label kind. */
export function sceneLabelInfo(label: SceneLabelKind): VisionLabelInfo {
  const classNames = sceneClassNames(label);
  return { numClasses: classNames.length, segClasses: SCENE_SEG_NAMES.length, maxDepth: SCENE_MAX_DEPTH, classNames, segNames: [...SCENE_SEG_NAMES] };
}

/** One shape in a scene. */
export interface SceneShape {
  /** 0 circle, 1 square, 2 triangle. */
  type: number;
  /** Distance from the camera, metres. */
  z: number;
  /** Centre column and row in pixels, and half-size in pixels. */
  cx: number;
  cy: number;
  radius: number;
  rgb: [number, number, number];
}

/** A scene's layout (everything the pixels and labels are computed from). */
export interface SceneLayout {
  size: number;
  /** Horizon row (pixels, continuous). */
  horizon: number;
  /** Back-wall distance, metres. */
  wallDepth: number;
  /** Row where the floor meets the wall. */
  wallBase: number;
  wallRgb: [number, number, number];
  floorRgb: [number, number, number];
  /** Shapes, far to near (paint order). */
  shapes: SceneShape[];
  /** Whether shapes carry their type's surface pattern. */
  patterns: boolean;
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: [number, number, number][] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]];
  return table[((i % 6) + 6) % 6] as [number, number, number];
}

const randomColor = (rng: Rng): [number, number, number] => hsvToRgb(rng.next(), 0.3 + 0.7 * rng.next(), 0.35 + 0.65 * rng.next());

/** Draws a layout: the shared colour distribution, perspective placement, far-to-near order. */
export function sampleLayout(size: number, rng: Rng, patterns = true): SceneLayout {
  const f = size;
  const horizon = size * (0.15 + 0.2 * rng.next());
  const wallDepth = 6 + 3 * rng.next();
  const wallBase = horizon + (f * CAMERA_HEIGHT) / wallDepth;
  const count = rng.int(1, 3);
  const shapes: SceneShape[] = [];
  for (let k = 0; k < count; k++) {
    // The first shape stands within 3.5 m, so the nearest shape is large enough to read; the others are biased
    // toward the camera (u²) over the whole floor.
    const u = rng.next();
    const z = k === 0 ? 1.8 + 1.7 * u : 1.8 + (wallDepth - 0.4 - 1.8) * u * u;
    const radius = (f * (0.5 + 0.4 * rng.next())) / z;
    const bottom = horizon + (f * CAMERA_HEIGHT) / z;
    const cx = radius * 0.5 + (size - radius) * rng.next();
    shapes.push({ type: rng.int(0, 2), z, cx, cy: bottom - radius, radius, rgb: randomColor(rng) });
  }
  shapes.sort((a, b) => b.z - a.z);
  return { size, horizon, wallDepth, wallBase, wallRgb: randomColor(rng), floorRgb: randomColor(rng), shapes, patterns };
}

/** Whether point (x, y) (pixels) lies inside a shape. */
export function insideShape(s: SceneShape, x: number, y: number): boolean {
  const dx = x - s.cx;
  const dy = y - s.cy;
  const r = s.radius;
  if (s.type === 0) return dx * dx + dy * dy <= r * r;
  if (s.type === 1) return Math.abs(dx) <= 0.85 * r && Math.abs(dy) <= 0.85 * r;
  // Upright triangle: apex at the top, base on the floor.
  return dy >= -r && dy <= r && Math.abs(dx) <= (dy + r) / 2;
}

/**
 * Surface pattern of a shape (a brightness factor): circles are plain, squares carry horizontal stripes and
 * triangles vertical ones, painted on the surface so their period shrinks with distance (half-period radius/4 px,
 * at least 1.5 px). The pattern is a property of the shape type that survives colour changes.
 */
export function surfacePattern(s: SceneShape, x: number, y: number): number {
  if (s.type === 0) return 1;
  const half = Math.max(1.5, s.radius / 4);
  const u = s.type === 1 ? y - (s.cy - s.radius) : x - (s.cx - s.radius);
  return Math.floor(u / half) % 2 === 0 ? 1 : 0.6;
}

/** What the camera sees at point (x, y): class id, depth (m), colour. */
export function shadePoint(l: SceneLayout, x: number, y: number): { cls: number; depth: number; rgb: [number, number, number] } {
  for (let k = l.shapes.length - 1; k >= 0; k--) {
    const s = l.shapes[k] as SceneShape;
    if (insideShape(s, x, y)) {
      // Light from above: shapes darken slightly toward their base.
      const shade = (1 - 0.25 * ((y - (s.cy - s.radius)) / (2 * s.radius))) * (l.patterns ? surfacePattern(s, x, y) : 1);
      return { cls: 2 + s.type, depth: s.z, rgb: [s.rgb[0] * shade, s.rgb[1] * shade, s.rgb[2] * shade] };
    }
  }
  if (y < l.wallBase) {
    const shade = 0.85 + 0.15 * (y / l.wallBase);
    return { cls: 0, depth: l.wallDepth, rgb: [l.wallRgb[0] * shade, l.wallRgb[1] * shade, l.wallRgb[2] * shade] };
  }
  const z = (l.size * CAMERA_HEIGHT) / (y - l.horizon);
  // A 0.5 m checkerboard in floor coordinates: its perspective foreshortening is a depth cue.
  const lateral = ((x - l.size / 2) * z) / l.size;
  const parity = (Math.floor(lateral / 0.5) + Math.floor(z / 0.5)) & 1;
  const shade = parity ? 1 : 0.7;
  return { cls: 1, depth: z, rgb: [l.floorRgb[0] * shade, l.floorRgb[1] * shade, l.floorRgb[2] * shade] };
}

/** The image label of a layout: the nearest shape's type (× the half its centre is in, for 'nearest-type-side'). */
export function sceneLabel(l: SceneLayout, label: SceneLabelKind = 'nearest-type'): number {
  const nearest = l.shapes[l.shapes.length - 1] as SceneShape;
  if (label === 'nearest-type') return nearest.type;
  return nearest.type * 2 + (nearest.cx < l.size / 2 ? 0 : 1);
}

/**
 * Renders a layout: the image with 2×2 supersampling and pixel noise (σ 0.02), labels at pixel centres.
 * Writes into the given arrays at pixel offset `at`.
 */
export function renderScene(l: SceneLayout, rng: Rng, image: Float32Array, seg: Uint8Array, depth: Float32Array, at: number): void {
  const S = l.size;
  const off = [0.25, 0.75];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const acc = [0, 0, 0];
      for (const oy of off) for (const ox of off) {
        const c = shadePoint(l, x + ox, y + oy).rgb;
        acc[0]! += c[0];
        acc[1]! += c[1];
        acc[2]! += c[2];
      }
      const px = at + y * S + x;
      for (let c = 0; c < 3; c++) image[px * 3 + c] = Math.min(1, Math.max(0, (acc[c] as number) / 4 + 0.02 * rng.normal()));
      const centre = shadePoint(l, x + 0.5, y + 0.5);
      seg[px] = centre.cls;
      depth[px] = centre.depth;
    }
  }
}

/** Sizes of the generated splits. */
export interface SceneConfig {
  /** Generator seed (the same for every training seed). Default 1234. */
  seed: number;
  /** Image side. Default 32. */
  size: number;
  /** Unlabeled images for (continued) pretraining. Default 2048. */
  unlabeled: number;
  /** Labelled feedback images for the designer (issue 11). Default 256. */
  feedback: number;
  /** Probe training images. Default 512. */
  probeTrain: number;
  /** Probe validation images (hyperparameter choice). Default 256. */
  validation: number;
  /** Probe test images (reported). Default 512. */
  test: number;
  /** Image label. Default 'nearest-type'. */
  label: SceneLabelKind;
  /** Surface pattern per shape type (stripes). Default true. */
  patterns: boolean;
}

export const DEFAULT_SCENES: SceneConfig = { seed: 1234, size: 32, unlabeled: 2048, feedback: 256, probeTrain: 512, validation: 256, test: 512, label: 'nearest-type', patterns: true };

/** How a split is drawn besides its size: label kind and patterns. */
export type SceneStyle = Pick<SceneConfig, 'label' | 'patterns'>;

export const SCENE_SPLITS = ['unlabeled', 'feedback', 'probeTrain', 'validation', 'test'] as const;
export type SceneSplitName = (typeof SCENE_SPLITS)[number];

/** n scenes drawn from `rng`. */
export function generateScenes(n: number, size: number, rng: Rng, idPrefix: string, style: SceneStyle = DEFAULT_SCENES): VisionSplit & { layouts: SceneLayout[] } {
  const images = new Float32Array(n * size * size * 3);
  const seg = new Uint8Array(n * size * size);
  const depth = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  const layouts: SceneLayout[] = [];
  for (let i = 0; i < n; i++) {
    const l = sampleLayout(size, rng, style.patterns);
    renderScene(l, rng, images, seg, depth, i * size * size);
    labels[i] = sceneLabel(l, style.label);
    layouts.push(l);
  }
  return { images, n, size, labelSize: size, labels, seg, depth, ids: Array.from({ length: n }, (_, i) => `${idPrefix}-${i}`), layouts };
}

/** All five splits; each split has its own Rng stream, so changing one split's size leaves the others as they were. */
export function generateSceneData(cfg: SceneConfig): Record<SceneSplitName, VisionSplit> {
  const rng = new Rng(cfg.seed);
  const out = {} as Record<SceneSplitName, VisionSplit>;
  for (const name of SCENE_SPLITS) {
    const { layouts: _l, ...split } = generateScenes(cfg[name], cfg.size, rng.fork(`scenes/${name}`), `scene-${name}`, cfg);
    out[name] = split;
  }
  return out;
}
