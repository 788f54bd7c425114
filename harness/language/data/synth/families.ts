/**
 * GSM8K-style problem families. Numbers are kept small (results up to about 50) so that a tiny model can learn
 * the arithmetic facts within the quick budget. Each family draws numbers and words through `Draws` and returns
 * a question plus a plan of arithmetic steps; `render` turns the plan into a worked solution with calculator
 * annotations and a final "#### N", optionally with an error carried through: the family's systematic wrong
 * rule (one step's operation replaced, as a corpus written by a solver with a misconception would have), or one
 * intermediate result off by a small amount (an isolated slip).
 */
import type { Rng } from '../../../engine/rng.js';

export type Op = '+' | '-' | '*' | '/';
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

export type WordKind = 'name' | 'thing' | 'container' | 'unit' | 'extra';

/** Where a family's random choices come from: fresh from an Rng, or replayed (possibly edited) from a record. */
export interface Draws {
  /** Integer in [lo, hi] inclusive. */
  num(lo: number, hi: number): number;
  word(kind: WordKind): string;
  /** One of several phrasings (recorded by index, so an edited copy keeps its wording). */
  phrase(options: readonly string[]): string;
}

/** The systematic error of a family: step `step` uses `op` instead of the right operation. */
export interface WrongRule {
  step: number;
  op: Op;
  /** What the misconception is, in words (for documentation and reports). */
  says: string;
}

export interface Family {
  name: string;
  /** Downstream-relevant families make up the test and feedback sets; the rest only appear in the stream. */
  relevant: boolean;
  /** The family's wrong rule, applied by rule noise. Chosen so that every value stays a whole number in 0..200. */
  wrongRule?: WrongRule;
  make(d: Draws): Problem;
}

export const WORDS: Record<WordKind, readonly string[]> = {
  name: [
    'Ava', 'Ben', 'Cara', 'Dan', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivan', 'Jo', 'Kim', 'Liam', 'Mia', 'Noah', 'Omar', 'Pia',
    'Rosa', 'Sam', 'Tara', 'Uma', 'Vic', 'Wes', 'Yara', 'Zane', 'Ali', 'Bea', 'Cole', 'Dina', 'Emma', 'Finn', 'Gia', 'Hugo',
  ],
  thing: ['apples', 'pencils', 'marbles', 'stickers', 'cookies', 'stamps', 'shells', 'beads', 'cards', 'books', 'pens', 'toys', 'coins', 'eggs', 'rocks', 'cups'],
  container: ['boxes', 'bags', 'jars', 'baskets', 'crates', 'tins'],
  unit: ['pages', 'poems', 'chapters', 'articles', 'stories'],
  extra: ['bonus', 'tip', 'reward', 'prize'],
};

const PERIODS = [['day', 'days', 'a day'], ['hour', 'hours', 'an hour'], ['shift', 'shifts', 'a shift'], ['week', 'weeks', 'a week']];

const DAY_PAIRS = [
  ['Monday', 'Tuesday'], ['Tuesday', 'Wednesday'], ['Wednesday', 'Thursday'], ['Thursday', 'Friday'], ['Friday', 'Saturday'], ['Saturday', 'Sunday'],
];

const s = (step: number): Ref => ({ step });

export const FAMILIES: Family[] = [
  {
    name: 'shopping',
    relevant: true,
    wrongRule: { step: 0, op: '+', says: 'adds the count and the price instead of multiplying them' },
    make(d) {
      const n = d.word('name'), t = d.word('thing'), a = d.num(2, 6), b = d.num(2, 6);
      const paid = Math.ceil((a * b + 1) / 10) * 10 + 10 * d.num(0, 1);
      return {
        family: 'shopping',
        question: sentences(d, [
          [
            `${n} buys ${a} ${t} that cost $${b} each.`,
            `${n} purchases ${a} ${t} at $${b} apiece.`,
            `At the market, ${n} picks up ${a} ${t} priced at $${b} each.`,
            `${n} wants ${a} ${t}, and every one of them sells for $${b}.`,
            `In a shop ${n} chooses ${a} ${t} costing $${b} per item.`,
          ],
          [`${n} pays with $${paid}.`, `${n} hands the cashier $${paid}.`, `The cashier is given $${paid} by ${n}.`, `${n} uses a $${paid} note to pay for them.`],
          [`How much change does ${n} get?`, `How much change should ${n} receive?`, `How many dollars does ${n} get back?`, `What change, in dollars, is ${n} owed?`],
        ]),
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
    wrongRule: { step: 1, op: '+', says: 'adds what is given away instead of subtracting it' },
    make(d) {
      const n = d.word('name'), t = d.word('thing'), c = d.word('container'), a = d.num(2, 6), b = d.num(2, 6);
      const g = d.num(1, a * b - 1);
      return {
        family: 'boxes',
        question: sentences(d, [
          [
            `${n} has ${a} ${c} with ${b} ${t} in each.`,
            `${n} owns ${a} ${c}, and each one holds ${b} ${t}.`,
            `There are ${a} ${c} in ${n}'s room, each containing ${b} ${t}.`,
            `${n} fills ${a} ${c} with ${b} ${t} apiece.`,
          ],
          [`${n} gives away ${g} ${t}.`, `Later ${n} gives ${g} of the ${t} to a neighbour.`, `${n} donates ${g} ${t} to the school.`, `Then ${g} ${t} are given away by ${n}.`],
          [`How many ${t} does ${n} have left?`, `How many ${t} remain with ${n}?`, `How many ${t} does ${n} still have?`, `What number of ${t} is left for ${n}?`],
        ]),
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
    wrongRule: { step: 0, op: '+', says: 'adds the pay per period and the number of periods instead of multiplying them' },
    make(d) {
      const n = d.word('name'), [per, pers, aPer] = PERIODS[d.num(0, PERIODS.length - 1)] as [string, string, string];
      const x = d.word('extra'), a = d.num(2, 9), b = d.num(2, 4), c = d.num(1, 10);
      return {
        family: 'wages',
        question: sentences(d, [
          [`${n} earns $${a} ${aPer} for ${b} ${pers}.`, `${n} is paid $${a} per ${per} and works ${b} ${pers}.`, `Working at $${a} ${aPer}, ${n} puts in ${b} ${pers}.`, `${n} makes $${a} each ${per} over ${b} ${pers}.`],
          [`Then ${n} gets a ${x} of $${c}.`, `On top of that, ${n} receives a $${c} ${x}.`, `${n} is also given a $${c} ${x}.`, `A ${x} of $${c} is added at the end.`],
          [`How much money does ${n} earn in total?`, `What is ${n}'s total pay in dollars?`, `How many dollars does ${n} get altogether?`, `How much does ${n} make in all?`],
        ]),
        steps: [
          { op: '*', left: a, right: b, say: `${n} earns {calc} dollars for the ${pers}.` },
          { op: '+', left: s(0), right: c, say: `With the ${x} ${n} earns {calc} dollars.` },
        ],
      };
    },
  },
  {
    name: 'sharing',
    relevant: true,
    wrongRule: { step: 1, op: '-', says: 'subtracts the number of friends instead of dividing by it' },
    make(d) {
      const n = d.word('name'), t = d.word('thing'), k = d.num(2, 5), each = d.num(2, 8);
      const a = d.num(1, k * each - 1), b = k * each - a;
      return {
        family: 'sharing',
        question: sentences(d, [
          [
            `${n} has ${a} ${t} and finds ${b} more.`,
            `${n} starts with ${a} ${t}, then gets ${b} more.`,
            `After collecting ${a} ${t}, ${n} is given another ${b}.`,
            `${n} owns ${a} ${t} and buys ${b} extra ones.`,
          ],
          [`${n} shares them equally among ${k} friends.`, `All of them are split evenly between ${k} friends.`, `${n} divides the ${t} fairly among ${k} friends.`, `Then ${k} friends each get an equal share from ${n}.`],
          [`How many ${t} does each friend get?`, `How many ${t} does every friend receive?`, `What is each friend's share of ${t}?`, `How many ${t} end up with each friend?`],
        ]),
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
    wrongRule: { step: 0, op: '+', says: 'reads "b times as many" as "b more"' },
    make(d) {
      const n = d.word('name'), u = d.word('unit'), [d1, d2] = DAY_PAIRS[d.num(0, DAY_PAIRS.length - 1)] as [string, string];
      const a = d.num(2, 10), b = d.num(2, 4);
      return {
        family: 'reading',
        question: sentences(d, [
          [
            `${n} reads ${a} ${u} on ${d1} and ${b} times as many ${u} on ${d2}.`,
            `On ${d1} ${n} reads ${a} ${u}, and on ${d2} ${b} times that many.`,
            `${n} gets through ${a} ${u} on ${d1} and ${b} times as many the next day.`,
            `${n} read ${a} ${u} on ${d1}; on ${d2}, ${n} read ${b} times as many.`,
          ],
          [`How many ${u} does ${n} read in the two days?`, `How many ${u} did ${n} read altogether?`, `What is the total number of ${u} ${n} reads?`, `How many ${u} is that over both days?`],
        ]),
        steps: [
          { op: '*', left: a, right: b, say: `On ${d2} ${n} reads {calc} ${u}.` },
          { op: '+', left: a, right: s(0), say: `In total ${n} reads {calc} ${u}.` },
        ],
      };
    },
  },
  {
    name: 'stickers',
    relevant: true,
    wrongRule: { step: 2, op: '+', says: 'adds what is used instead of subtracting it' },
    make(d) {
      const n = d.word('name'), t = d.word('thing'), a = d.num(2, 5), b = d.num(2, 6), c = d.num(1, 10);
      const u = d.num(1, a * b + c - 1);
      return {
        family: 'stickers',
        question: sentences(d, [
          [
            `${n} buys ${a} packs of ${b} ${t} and is given ${c} more.`,
            `${n} gets ${a} packs of ${b} ${t}, plus ${c} from a friend.`,
            `After buying ${a} packs of ${b} ${t}, ${n} gets ${c} more.`,
            `${n} has ${a} packs holding ${b} ${t} each and ${c} loose ones.`,
          ],
          [`${n} uses ${u} of them.`, `Then ${n} uses up ${u}.`, `${n} trades ${u} of them away.`, `Later ${u} of them get used.`],
          [`How many ${t} are left?`, `How many does ${n} have now?`, `How many ${t} remain?`, `How many are still left?`],
        ]),
        steps: [
          { op: '*', left: a, right: b, say: `The packs hold {calc} ${t}.` },
          { op: '+', left: s(0), right: c, say: `${n} then has {calc} ${t}.` },
          { op: '-', left: s(1), right: u, say: `${n} has {calc} ${t} left.` },
        ],
      };
    },
  },
  {
    name: 'sequence',
    relevant: false,
    make(d) {
      const start = d.num(1, 20), step = d.num(2, 6), len = d.num(3, 5);
      const xs = Array.from({ length: len }, (_, i) => start + i * step);
      const last = xs[len - 1] as number;
      const list = xs.join(', ');
      return {
        family: 'sequence',
        question: d.phrase([`What number comes next in the list ${list}?`, `Which number follows in the pattern ${list}?`, `Continue the list ${list}. What is the next number?`]),
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
    make(d) {
      const w = d.num(2, 6), extra = d.num(1, 6);
      return {
        family: 'weeks',
        question: d.phrase([
          `How many days are there in ${w} weeks and ${extra} days?`,
          `A trip lasts ${w} weeks and ${extra} days. How many days is that?`,
          `How many days long is a stretch of ${w} weeks plus ${extra} days?`,
        ]),
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
    make(d) {
      const a = d.num(2, 20), b = d.num(2, 20);
      return {
        family: 'perimeter',
        question: d.phrase([
          `A garden is ${a} meters long and ${b} meters wide. What is the length of the fence around it?`,
          `A rectangular yard measures ${a} meters by ${b} meters. How long is a fence that goes all the way around?`,
          `What is the perimeter, in meters, of a field that is ${a} meters long and ${b} meters wide?`,
        ]),
        steps: [
          { op: '+', left: a, right: b, say: `Half of the fence is {calc} meters.` },
          { op: '*', left: s(0), right: 2, say: `The whole fence is {calc} meters.` },
        ],
      };
    },
  },
];

/** One phrasing per sentence slot, joined: the wording varies the way different authors' problems do. */
function sentences(d: Draws, slots: readonly (readonly string[])[]): string {
  return slots.map((options) => d.phrase(options)).join(' ');
}

export function familyByName(name: string): Family {
  const f = FAMILIES.find((x) => x.name === name);
  if (!f) throw new Error(`unknown problem family '${name}' (families: ${FAMILIES.map((x) => x.name).join(', ')})`);
  return f;
}

/** The choices a family made, in order, so a problem can be made again with some of them edited. */
export interface DrawRecord {
  nums: number[];
  words: { kind: WordKind; value: string }[];
  phrases: number[];
}

/** Fresh draws from `rng`, recorded. */
export function recordingDraws(rng: Rng): Draws & { record: DrawRecord } {
  const record: DrawRecord = { nums: [], words: [], phrases: [] };
  return {
    record,
    num(lo, hi) {
      const v = rng.int(lo, hi);
      record.nums.push(v);
      return v;
    },
    word(kind) {
      const v = rng.pick(WORDS[kind]);
      record.words.push({ kind, value: v });
      return v;
    },
    phrase(options) {
      const i = rng.int(0, options.length - 1);
      record.phrases.push(i);
      return options[i] as string;
    },
  };
}

/**
 * Replays a record: numbers from the record (or fresh from `freshNums`, range permitting), words from the record
 * with `rename` applied. A replayed number outside the range the family now asks for is an error.
 */
export function replayDraws(rec: DrawRecord, opts: { freshNums?: Rng; rename?: (kind: WordKind, value: string) => string } = {}): Draws {
  let ni = 0, wi = 0, pi = 0;
  return {
    num(lo, hi) {
      if (opts.freshNums) return opts.freshNums.int(lo, hi);
      const v = rec.nums[ni++];
      if (v === undefined || v < lo || v > hi) throw new Error(`replayDraws: recorded number ${v} outside [${lo}, ${hi}]`);
      return v;
    },
    word(kind) {
      const w = rec.words[wi++];
      if (!w || w.kind !== kind) throw new Error(`replayDraws: expected a recorded ${kind}`);
      return opts.rename ? opts.rename(kind, w.value) : w.value;
    },
    phrase(options) {
      const i = rec.phrases[pi++];
      if (i === undefined || i >= options.length) throw new Error('replayDraws: no recorded phrasing');
      return options[i] as string;
    },
  };
}

const MAX_NUMBER = 200;

/** Every value written after "=" and ">>" is a whole number in 0..200 (one token each). */
export function okValues(r: Rendered): boolean {
  if (/[=>]-/.test(r.answer) || /\d\.\d/.test(r.answer)) return false;
  return [...r.answer.matchAll(/\d+/g)].every((m) => Number(m[0]) <= MAX_NUMBER);
}

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
  /**
   * Character spans in `answer` of the tokens a learner would learn wrongly from: the point where the text first
   * departs from what a correct solver writes given everything before it (the wrong operation, or the wrong result
   * of a calculation). Values that follow correctly from an earlier error (copies of a wrong result, right
   * arithmetic on a wrong operand, the final "#### N") are not marked: given their context they are right.
   */
  wrongSpans: [number, number][];
}

/**
 * An error to render: `op` replaces step `step`'s operation (a wrong rule), or `delta` is added to step `step`'s
 * result (a slip). Later steps use the resulting value, as a fluent but wrong chain of thought would.
 */
export interface Corruption {
  step: number;
  op?: Op;
  delta?: number;
}

export function render(p: Problem, corrupt?: Corruption): Rendered {
  const values: number[] = [];
  const wrongSpans: [number, number][] = [];
  let answer = '';
  p.steps.forEach((st, i) => {
    const val = (r: Ref): number => (typeof r === 'number' ? r : (values[r.step] as number));
    const here = corrupt !== undefined && corrupt.step === i;
    const op = here && corrupt.op ? corrupt.op : st.op;
    const l = val(st.left), r = val(st.right);
    const v = apply(op, l, r) + (here && corrupt.delta ? corrupt.delta : 0);
    values.push(v);
    const [before, after] = st.say.split('{calc}') as [string, string];
    const opAt = answer.length + before.length + String(l).length;
    if (here && corrupt.op && corrupt.op !== st.op) wrongSpans.push([opAt, opAt + 1]);
    const expr = `${l}${op}${r}`;
    const head = `${answer}${before}${expr} = <<${expr}=`;
    if (here && corrupt.delta) wrongSpans.push([head.length, head.length + String(v).length]);
    answer = `${head}${v}>>${v}${after}\n`;
  });
  const final = values[values.length - 1] as number;
  return { question: p.question, answer: `${answer}#### ${final}`, final, wrongSpans };
}
