/**
 * GSM8K-style problem families. Numbers are kept small (results up to about 50) so that a tiny model can learn
 * the arithmetic facts within the quick budget. Each family draws numbers and returns a question plus a plan of arithmetic
 * steps; `render` turns the plan into a worked solution with calculator annotations and a final "#### N",
 * optionally with one intermediate result off by a small amount and the error carried through.
 */
import { Rng } from '../../engine/rng.js';

type Op = '+' | '-' | '*' | '/';
/** A step operand: a literal, or the result of an earlier step (by index). */
type Ref = number | { step: number };

export interface Step {
  op: Op;
  left: Ref;
  right: Ref;
  /** Sentence around the calculation: `{calc}` becomes "a*b = <<a*b=c>>c". */
  say: string;
}

export interface Problem {
  family: string;
  question: string;
  steps: Step[];
}

export interface Family {
  name: string;
  /** Downstream-relevant families make up the test and feedback sets; the rest only appear in the stream. */
  relevant: boolean;
  make(rng: Rng): Problem;
}

const NAMES = ['Ava', 'Ben', 'Cara', 'Dan', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivan', 'Jo', 'Kim', 'Liam', 'Mia', 'Noah', 'Omar', 'Pia'];
const THINGS = ['apples', 'pencils', 'marbles', 'stickers', 'cookies', 'stamps', 'shells', 'beads', 'cards', 'books'];
const CONTAINERS = ['boxes', 'bags', 'jars', 'baskets', 'crates'];

const s = (step: number): Ref => ({ step });

export const FAMILIES: Family[] = [
  {
    name: 'shopping',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), t = rng.pick(THINGS), a = rng.int(2, 6), b = rng.int(2, 6);
      const paid = Math.ceil((a * b + 1) / 10) * 10 + 10 * rng.int(0, 1);
      return {
        family: 'shopping',
        question: `${n} buys ${a} ${t} that cost $${b} each. ${n} pays with $${paid}. How much change does ${n} get?`,
        steps: [
          { op: '*', left: a, right: b, say: `The ${t} cost {calc} dollars.` },
          { op: '-', left: paid, right: s(0), say: `The change is {calc} dollars.` },
        ],
      };
    },
  },
  {
    name: 'boxes',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), t = rng.pick(THINGS), c = rng.pick(CONTAINERS), a = rng.int(2, 6), b = rng.int(2, 6);
      const g = rng.int(1, a * b - 1);
      return {
        family: 'boxes',
        question: `${n} has ${a} ${c} with ${b} ${t} in each. ${n} gives away ${g} ${t}. How many ${t} does ${n} have left?`,
        steps: [
          { op: '*', left: a, right: b, say: `${n} has {calc} ${t}.` },
          { op: '-', left: s(0), right: g, say: `${n} has {calc} ${t} left.` },
        ],
      };
    },
  },
  {
    name: 'wages',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), a = rng.int(2, 9), b = rng.int(2, 4), c = rng.int(1, 10);
      return {
        family: 'wages',
        question: `${n} earns $${a} a day for ${b} days and then gets a bonus of $${c}. How much money does ${n} earn in total?`,
        steps: [
          { op: '*', left: a, right: b, say: `${n} earns {calc} dollars for the days.` },
          { op: '+', left: s(0), right: c, say: `With the bonus ${n} earns {calc} dollars.` },
        ],
      };
    },
  },
  {
    name: 'sharing',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), t = rng.pick(THINGS), k = rng.int(2, 5), each = rng.int(2, 8);
      const a = rng.int(1, k * each - 1), b = k * each - a;
      return {
        family: 'sharing',
        question: `${n} has ${a} ${t} and finds ${b} more. ${n} shares them equally among ${k} friends. How many ${t} does each friend get?`,
        steps: [
          { op: '+', left: a, right: b, say: `${n} has {calc} ${t}.` },
          { op: '/', left: s(0), right: k, say: `Each friend gets {calc} ${t}.` },
        ],
      };
    },
  },
  {
    name: 'reading',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), a = rng.int(2, 10), b = rng.int(2, 4);
      return {
        family: 'reading',
        question: `${n} reads ${a} pages on Monday and ${b} times as many pages on Tuesday. How many pages does ${n} read in the two days?`,
        steps: [
          { op: '*', left: a, right: b, say: `On Tuesday ${n} reads {calc} pages.` },
          { op: '+', left: a, right: s(0), say: `In total ${n} reads {calc} pages.` },
        ],
      };
    },
  },
  {
    name: 'stickers',
    relevant: true,
    make(rng) {
      const n = rng.pick(NAMES), t = rng.pick(THINGS), a = rng.int(2, 5), b = rng.int(2, 6), c = rng.int(1, 10);
      const d = rng.int(1, a * b + c - 1);
      return {
        family: 'stickers',
        question: `${n} buys ${a} packs of ${b} ${t} and is given ${c} more. ${n} uses ${d} of them. How many ${t} are left?`,
        steps: [
          { op: '*', left: a, right: b, say: `The packs hold {calc} ${t}.` },
          { op: '+', left: s(0), right: c, say: `${n} then has {calc} ${t}.` },
          { op: '-', left: s(1), right: d, say: `${n} has {calc} ${t} left.` },
        ],
      };
    },
  },
  {
    name: 'sequence',
    relevant: false,
    make(rng) {
      const start = rng.int(1, 20), d = rng.int(2, 6), len = rng.int(3, 5);
      const xs = Array.from({ length: len }, (_, i) => start + i * d);
      const last = xs[len - 1] as number;
      return {
        family: 'sequence',
        question: `What number comes next in the list ${xs.join(', ')}?`,
        steps: [
          { op: '-', left: xs[1] as number, right: start, say: `The numbers go up by {calc} each time.` },
          { op: '+', left: last, right: s(0), say: `The next number is {calc}.` },
        ],
      };
    },
  },
  {
    name: 'weeks',
    relevant: false,
    make(rng) {
      const w = rng.int(2, 6), extra = rng.int(1, 6);
      return {
        family: 'weeks',
        question: `How many days are there in ${w} weeks and ${extra} days?`,
        steps: [
          { op: '*', left: w, right: 7, say: `${w} weeks have {calc} days.` },
          { op: '+', left: s(0), right: extra, say: `Adding the extra days gives {calc} days.` },
        ],
      };
    },
  },
  {
    name: 'perimeter',
    relevant: false,
    make(rng) {
      const a = rng.int(2, 20), b = rng.int(2, 20);
      return {
        family: 'perimeter',
        question: `A garden is ${a} meters long and ${b} meters wide. What is the length of the fence around it?`,
        steps: [
          { op: '+', left: a, right: b, say: `Half of the fence is {calc} meters.` },
          { op: '*', left: s(0), right: 2, say: `The whole fence is {calc} meters.` },
        ],
      };
    },
  },
];

function apply(op: Op, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
  }
}

export interface Rendered {
  question: string;
  /** Worked solution ending with "#### N". */
  answer: string;
  final: number;
  /** Character spans in `answer` of results that are wrong (empty for a correct solution). */
  wrongSpans: [number, number][];
}

/**
 * Renders a solution. With `corrupt`, the result of step `corrupt.step` is off by `corrupt.delta` and every
 * later step uses the wrong value, as a fluent but wrong chain of thought would.
 */
export function render(p: Problem, corrupt?: { step: number; delta: number }): Rendered {
  const values: number[] = [];
  const wrong: boolean[] = [];
  const wrongSpans: [number, number][] = [];
  let answer = '';
  p.steps.forEach((st, i) => {
    const val = (r: Ref): number => (typeof r === 'number' ? r : (values[r.step] as number));
    const isWrong = (r: Ref): boolean => typeof r !== 'number' && (wrong[r.step] as boolean);
    const l = val(st.left), r = val(st.right);
    let v = apply(st.op, l, r);
    if (corrupt && corrupt.step === i) v += corrupt.delta;
    const w = (corrupt !== undefined && corrupt.step === i) || isWrong(st.left) || isWrong(st.right);
    values.push(v);
    wrong.push(w);
    const expr = `${l}${st.op}${r}`;
    const [before, after] = st.say.split('{calc}') as [string, string];
    const head = `${answer}${before}${expr} = <<${expr}=`;
    if (w) wrongSpans.push([head.length, head.length + String(v).length]);
    const mid = `${head}${v}>>`;
    if (w) wrongSpans.push([mid.length, mid.length + String(v).length]);
    answer = `${mid}${v}${after}\n`;
  });
  const final = values[values.length - 1] as number;
  const tail = `#### ${final}`;
  if (wrong[wrong.length - 1]) wrongSpans.push([answer.length + 5, answer.length + tail.length]);
  return { question: p.question, answer: answer + tail, final, wrongSpans };
}
