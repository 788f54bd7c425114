/**
 * One writer per output (harness/results/lock.ts): a second `vpt run`, `merge --out`, `report` or `baseline record`
 * into what another holds exits 2 with one line naming the holder; a lock left by a killed run is taken over with a
 * message; a holder that lost its lock hears of it.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { HEARTBEAT_MS, LOCK_NAME, lockFile, lockFolder, OutputBusyError, STALE_MS, type Holder } from '../harness/results/lock.js';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

/** A lock folder as another process would have left it. */
function fakeLock(dir: string, holder: Partial<Holder>, ageMs = 0): void {
  const lockDir = join(dir, LOCK_NAME);
  mkdirSync(lockDir, { recursive: true });
  const h: Holder = { command: 'vpt run other', pid: 1, host: os.hostname(), startedAt: '2025-01-01T00:00:00.000Z', ...holder };
  writeFileSync(join(lockDir, 'holder.json'), JSON.stringify(h));
  const t = new Date(Date.now() - ageMs);
  utimesSync(lockDir, t, t);
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const p = execa(process.execPath, ['-e', '']);
  await p;
  return p.pid as number;
}

describe('output lock: one writer per results folder', () => {
  it('refuses a second holder, naming the first (command, pid, host, start); release frees it', () => {
    const dir = join(tmp(), 'out');
    const a = lockFolder(dir, { command: 'vpt run first' });
    expect(existsSync(join(dir, LOCK_NAME, 'holder.json'))).to.equal(true);
    let caught: unknown;
    try {
      lockFolder(dir, { command: 'vpt run second' });
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(OutputBusyError);
    expect((caught as Error).message).to.match(
      new RegExp(`^${dir} is in use by vpt run first \\(pid ${process.pid} on ${os.hostname()}, since \\d{4}-\\d\\d-\\d\\dT[^)]+\\): wait for it to finish, or write elsewhere$`),
    );
    a.release();
    // The lock made the folder and nothing filled it: it goes with the lock.
    expect(existsSync(dir)).to.equal(false);
    const b = lockFolder(dir, { command: 'vpt run second' });
    writeFileSync(join(dir, 'suite.json'), '{}');
    b.release();
    b.release();
    expect(readdirSync(dir)).to.deep.equal(['suite.json']);
  });

  it("takes over a lock whose process is gone on this host, saying whose it was", async () => {
    const dir = tmp();
    const pid = await deadPid();
    const ns = existsSync('/proc/self/ns/pid') ? readlinkSync('/proc/self/ns/pid') : undefined;
    fakeLock(dir, { pid, ...(ns ? { pidNamespace: ns } : {}) });
    const lines: string[] = [];
    const l = lockFolder(dir, { command: 'vpt run next', log: (x) => lines.push(x) });
    expect(lines).to.deep.equal([`taking over the lock on ${dir} left by vpt run other (pid ${pid} on ${os.hostname()}, since 2025-01-01T00:00:00.000Z): process ${pid} is gone`]);
    expect((JSON.parse(readFileSync(join(dir, LOCK_NAME, 'holder.json'), 'utf8')) as Holder).command).to.equal('vpt run next');
    l.release();
  });

  it('takes over a lock on another host only once it has not been refreshed for the stale age', () => {
    const fresh = tmp();
    fakeLock(fresh, { host: 'elsewhere', pid: 4242 }, STALE_MS / 2);
    expect(() => lockFolder(fresh, { command: 'vpt merge' })).to.throw(OutputBusyError, /in use by vpt run other \(pid 4242 on elsewhere/);
    const old = tmp();
    fakeLock(old, { host: 'elsewhere', pid: 4242 }, STALE_MS + 60_000);
    const lines: string[] = [];
    lockFolder(old, { command: 'vpt merge', log: (x) => lines.push(x) }).release();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/left by vpt run other \(pid 4242 on elsewhere, .*\): not refreshed for 3 min \(stale after 2 min\)$/);
  });

  it('locks a single output file beside it (baseline record)', () => {
    const file = join(tmp(), 'baselines', 'quick.json');
    const l = lockFile(file, { command: 'vpt baseline record --as quick' });
    expect(existsSync(`${file}.lock`)).to.equal(true);
    expect(() => lockFile(file, { command: 'again' })).to.throw(OutputBusyError, new RegExp(`^${file} is in use by vpt baseline record --as quick`));
    l.release();
    expect(existsSync(`${file}.lock`)).to.equal(false);
  });

  it('keeps a held lock across refreshes, and tells its holder when another writer replaced it', async () => {
    const dir = tmp();
    const lost: string[] = [];
    const l = lockFolder(dir, { command: 'vpt run long', onLost: (x) => lost.push(x) });
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 2000));
    expect(lost, 'a refresh must not mistake its own lock for another writer').to.deep.equal([]);
    // Another writer that judged it stale removed it and made its own.
    rmSync(join(dir, LOCK_NAME), { recursive: true });
    fakeLock(dir, { host: 'elsewhere', command: 'vpt run intruder' }, -5000);
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 2000));
    expect(lost).to.have.length(1);
    expect(lost[0]).to.match(new RegExp(`^lost the lock on ${dir} \\(.+\\): another writer took it over; stopping so that two do not write one output$`));
    l.release();
  });
});

describe('output lock: vpt commands', () => {
  const dir = tmp();
  const cache = join(dir, 'cache');
  const f = writeFilesSuite(dir, { seeds: [1, 2] });
  const run = (out: string, ...extra: string[]) => vpt(['run', f.suite, '--out', out, '--cache', cache, ...extra]);
  const configOf = (out: string): string => (JSON.parse(readFileSync(join(out, 'suite.json'), 'utf8')) as { configHash: string }).configHash;

  before(async function () {
    // The base checkpoint once, so the races below are between runs, not base stages.
    const r = await run(join(dir, 'warm'));
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('two runs into one folder: the second exits 2 naming the first, and the folder holds only the first', async () => {
    const out = join(dir, 'race');
    const first = run(out);
    await new Promise((r) => setTimeout(r, 300));
    const second = run(out, '--set', 'train.steps=3');
    const [a, b] = await Promise.all([first, second]);
    // Whichever took the lock first runs; the other stops before writing anything.
    const [won, lost, winner] = a.exitCode === 0 ? [a, b, first.pid] : [b, a, second.pid];
    expect(won.exitCode, won.stderr).to.equal(0);
    expect(lost.exitCode, lost.stderr).to.equal(2);
    const line = new RegExp(`^vpt: ${out} is in use by vpt run files-micro \\(pid ${winner} on ${os.hostname()}, since [^)]+\\): wait for it to finish, or write elsewhere$`);
    expect(lost.stderr.trim().split('\n').at(-1)).to.match(line);
    expect(lost.stdout).to.equal('');
    const config = configOf(out);
    const cells = ['seed-1', 'seed-2'].map((s) => JSON.parse(readFileSync(join(out, 'cells', 'baseline', s, 'cell.json'), 'utf8')) as { configHash: string; status: string });
    expect(cells.map((c) => [c.configHash, c.status])).to.deep.equal([[config, 'completed'], [config, 'completed']]);
    expect(won.stdout).to.include(`config ${config}`);
    expect(existsSync(join(out, LOCK_NAME))).to.equal(false);
  });

  it('two --resume runs of one folder do not train the same cell twice', async () => {
    const out = join(dir, 'resume-race');
    const [a, b] = await Promise.all([run(out, '--resume'), run(out, '--resume')]);
    expect([a.exitCode, b.exitCode].sort()).to.deep.equal([0, 2]);
    const lost = a.exitCode === 2 ? a : b;
    // Started together, the loser may find the lock made but its holder not yet recorded.
    expect(lost.stderr).to.match(/is in use by (vpt run files-micro \(pid \d+|another process \(it has not recorded itself yet\))/);
    expect(lost.stderr).to.not.match(/^start /m);
  });

  it('a run killed outright: --resume takes its lock over with a message, its workers stop, and the run completes', async () => {
    const out = join(dir, 'killed');
    const p = run(out);
    await new Promise<void>((resolve) => {
      p.stderr?.on('data', (d: Buffer) => {
        if (/start files-micro\/baseline\/seed-1/.test(d.toString())) resolve();
      });
    });
    p.kill('SIGKILL');
    await p;
    const killed = p.pid as number;
    expect(existsSync(join(out, LOCK_NAME)), 'the killed run leaves its lock').to.equal(true);
    // Its worker sees its runner gone within a second and stops without writing.
    await new Promise((r) => setTimeout(r, 2500));
    const r = await run(out, '--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(new RegExp(`taking over the lock on ${out} left by vpt run files-micro \\(pid ${killed} on ${os.hostname()}, since [^)]+\\): process ${killed} is gone`));
    expect(r.stderr).to.match(/start files-micro\/baseline\/seed-1/);
    expect(existsSync(join(out, LOCK_NAME))).to.equal(false);
  });

  it('merge --out, report and baseline record into a held output exit 2 naming the holder', async () => {
    const warm = join(dir, 'warm');
    const merged = join(dir, 'merged');
    const held = lockFolder(merged, { command: 'vpt run holder' });
    try {
      const m = await vpt(['merge', warm, '--out', merged]);
      expect(m.exitCode).to.equal(2);
      expect(m.stderr.trim()).to.match(new RegExp(`^vpt: ${merged} is in use by vpt run holder \\(pid ${process.pid} on `));
      const rep = await vpt(['report', warm, '--out', merged, '--tables-only']);
      expect(rep.exitCode).to.equal(2);
      expect(rep.stderr.trim()).to.match(new RegExp(`^vpt: ${merged} is in use by vpt run holder`));
    } finally {
      held.release();
    }
    // vpt report without --out writes into the results folder, which vpt run holds while it runs.
    const runHeld = lockFolder(warm, { command: 'vpt run files-micro' });
    try {
      const rep = await vpt(['report', warm, '--tables-only']);
      expect(rep.exitCode).to.equal(2);
      expect(rep.stderr.trim()).to.match(new RegExp(`^vpt: ${warm} is in use by vpt run files-micro`));
    } finally {
      runHeld.release();
    }
    const baselines = join(dir, 'baselines');
    const file = join(baselines, 'b.json');
    const bHeld = lockFile(file, { command: 'vpt baseline record --as b' });
    try {
      const rec = await vpt(['baseline', 'record', warm, '--as', 'b', '--dir', baselines]);
      expect(rec.exitCode).to.equal(2);
      expect(rec.stderr.trim()).to.match(new RegExp(`^vpt: ${file} is in use by vpt baseline record --as b`));
      expect(existsSync(file)).to.equal(false);
    } finally {
      bHeld.release();
    }
    // Free again: each writes, and leaves no lock behind.
    const m = await vpt(['merge', warm, '--out', merged]);
    expect(m.exitCode, m.stderr).to.equal(0);
    const rec = await vpt(['baseline', 'record', warm, '--as', 'b', '--dir', baselines]);
    expect(rec.exitCode, rec.stderr).to.equal(0);
    expect(readdirSync(merged)).to.not.include(LOCK_NAME);
    expect(readdirSync(baselines)).to.deep.equal(['b.json']);
  });
});
