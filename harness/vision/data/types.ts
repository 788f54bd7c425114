/** The in-memory form every vision source (generator or file loader) produces. */

/** Segmentation label meaning "not scored" (ADE20K's 0 after reduce-zero-label, as in mmseg). */
export const IGNORE_LABEL = 255;

/** A set of square RGB images with whichever annotations the source has. */
export interface VisionSplit {
  /** Images [n, size, size, 3], RGB in [0, 1]. */
  images: Float32Array;
  n: number;
  /** Image side in pixels (the model's input size). */
  size: number;
  /** Side of the segmentation and depth maps (may differ from `size`). */
  labelSize: number;
  /** Image classes [n] in [0, numClasses). */
  labels?: Int32Array;
  /** Per-pixel classes [n, labelSize, labelSize] in [0, segClasses) or IGNORE_LABEL. */
  seg?: Uint8Array;
  /** Per-pixel depth in metres [n, labelSize, labelSize]; 0 = missing. */
  depth?: Float32Array;
  /** Where each image came from (file names or generator ids), for error messages and records. */
  ids: string[];
}

/** Label spaces of a dataset. */
export interface VisionLabelInfo {
  /** Image classes (classification probe), 0 if none. */
  numClasses: number;
  /** Segmentation classes (excluding the ignore label), 0 if none. */
  segClasses: number;
  /** Largest depth the depth probe predicts, metres; 0 if no depth. */
  maxDepth: number;
  classNames?: string[];
  segNames?: string[];
}

/** Copies images i ∈ `idx` (and their annotations) into a new split. */
export function selectSplit(s: VisionSplit, idx: readonly number[]): VisionSplit {
  const img = s.size * s.size * 3;
  const lab = s.labelSize * s.labelSize;
  const out: VisionSplit = { images: new Float32Array(idx.length * img), n: idx.length, size: s.size, labelSize: s.labelSize, ids: idx.map((i) => s.ids[i] as string) };
  if (s.labels) out.labels = new Int32Array(idx.length);
  if (s.seg) out.seg = new Uint8Array(idx.length * lab);
  if (s.depth) out.depth = new Float32Array(idx.length * lab);
  idx.forEach((i, k) => {
    out.images.set(s.images.subarray(i * img, (i + 1) * img), k * img);
    if (s.labels && out.labels) out.labels[k] = s.labels[i] as number;
    if (s.seg && out.seg) out.seg.set(s.seg.subarray(i * lab, (i + 1) * lab), k * lab);
    if (s.depth && out.depth) out.depth.set(s.depth.subarray(i * lab, (i + 1) * lab), k * lab);
  });
  return out;
}
