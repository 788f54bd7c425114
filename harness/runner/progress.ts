/**
 * Live progress: cells done/total, each running cell's phase and steps, and an ETA from finished cells.
 * On a terminal it redraws a small block in place; otherwise it prints a line per event (CI logs).
 */
export interface RunningCell {
  id: string;
  phase: string;
  done: number;
  total: number;
  startedAt: number;
}

function hms(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class ProgressDisplay {
  private readonly running = new Map<string, RunningCell>();
  private finished = 0;
  private failed = 0;
  private skipped = 0;
  private readonly durations: number[] = [];
  private drawn = 0;
  private readonly t0 = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly lastLogged = new Map<string, string>();

  constructor(
    private readonly total: number,
    private readonly workers: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly live = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {
    if (this.live) this.timer = setInterval(() => this.draw(), 500);
  }

  skip(n: number): void {
    this.skipped += n;
    if (n) this.log(`resume: ${n} finished cell(s) kept`);
  }

  start(id: string): void {
    this.running.set(id, { id, phase: 'start', done: 0, total: 0, startedAt: Date.now() });
    if (!this.live) this.log(`start ${id}`);
  }

  update(id: string, phase: string, done: number, total: number): void {
    const c = this.running.get(id);
    if (!c) return;
    Object.assign(c, { phase, done, total });
    if (!this.live) {
      const key = `${phase}:${total ? Math.floor((4 * done) / total) : 0}`;
      if (this.lastLogged.get(id) !== key) {
        this.lastLogged.set(id, key);
        this.log(`  ${id}: ${phase} ${done}/${total}`);
      }
    }
  }

  /** Ends a running item; `counted` false for preparation work that is not a cell (the base stage). */
  finish(id: string, status: string, detail = '', counted = true): void {
    const c = this.running.get(id);
    this.running.delete(id);
    if (counted && c) this.durations.push(Date.now() - c.startedAt);
    if (counted && status === 'completed') this.finished++;
    else if (counted) this.failed++;
    this.log(`${status === 'completed' ? 'done' : status.toUpperCase()} ${id}${detail ? ` ${detail}` : ''} [${this.summary()}]`);
  }

  private summary(): string {
    const done = this.finished + this.failed + this.skipped;
    const left = this.total - done;
    const avg = this.durations.length ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : 0;
    const eta = avg && left > 0 ? ` · ETA ${hms((avg * left) / Math.max(1, Math.min(this.workers, left)))}` : '';
    return `${done}/${this.total} cells${this.failed ? ` (${this.failed} failed)` : ''} · ${hms(Date.now() - this.t0)} elapsed${eta}`;
  }

  private clear(): void {
    if (!this.live) return;
    for (let i = 0; i < this.drawn; i++) this.out.write('\x1b[1A\x1b[2K');
    this.drawn = 0;
  }

  private draw(): void {
    this.clear();
    const lines = [`[vpt] ${this.summary()}`];
    for (const c of this.running.values()) {
      const pct = c.total ? ` ${Math.round((100 * c.done) / c.total)}%` : '';
      lines.push(`  ${c.id}: ${c.phase} ${c.done}/${c.total}${pct}`);
    }
    this.out.write(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  log(line: string): void {
    this.clear();
    this.out.write(line + '\n');
    if (this.live) this.draw();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
