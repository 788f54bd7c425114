/**
 * One writer per output: `vpt run`, `merge --out`, `report` and `baseline record` hold a lock on what they write, so
 * a second writer stops with one line naming the first instead of mixing two runs in one folder.
 *
 * The lock is proper-lockfile's: a directory made with mkdir (atomic on local disks and on NFS, SMB and other shared
 * file systems, so exactly one of two writers gets it), whose mtime the holder refreshes every {@link HEARTBEAT_MS}.
 * Inside it, `holder.json` records the command, pid, host, pid namespace and start time. A lock is stale, and is taken
 * over with a message, when its holder's pid is gone on this host (same hostname and pid namespace), or when nobody
 * has refreshed it for {@link STALE_MS} (a holder on another machine, or a reused pid). A holder whose lock was taken
 * over (its process stalled past the stale age) notices at its next refresh and stops.
 */
import * as fs from 'node:fs';
import { readFileSync, readlinkSync, rmdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError } from '../errors.js';
import { causeOf, isFileSystemError, makeOutputFolder, OutputPathError } from './writable.js';

/** The lock inside a results folder (a results folder's readers look only at cells/ and named files). */
export const LOCK_NAME = '.vpt-lock';
/** How often a holder refreshes its lock. */
export const HEARTBEAT_MS = 10_000;
/** A lock not refreshed for this long is stale: above NFS's attribute cache (60 s by default) and small clock skews. */
export const STALE_MS = 120_000;

/** Who holds a lock (`holder.json` inside it). */
export interface Holder {
  command: string;
  pid: number;
  host: string;
  /** Linux's pid namespace (`pid:[…]`): a pid means the same process only within one namespace. */
  pidNamespace?: string;
  startedAt: string;
}

/** Another writer holds the output. */
export class OutputBusyError extends UserError {}

export interface OutputLock {
  /** The path locked (a folder or a file). */
  readonly target: string;
  /** Frees the lock; a folder the lock created and nothing else filled is removed too. Safe to call twice. */
  release(): void;
}

export interface LockOptions {
  /** What writes (`vpt run`, `vpt merge`, ...), recorded for the message a second writer prints. */
  command: string;
  /** Receives the line saying a stale lock was taken over (default: stderr). */
  log?: (line: string) => void;
  /** Called when the lock was lost to another writer while held (default: print one line and exit 2). */
  onLost?: (line: string) => void;
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

function me(command: string): Holder {
  const ns = pidNamespace();
  return { command, pid: process.pid, host: os.hostname(), ...(ns ? { pidNamespace: ns } : {}), startedAt: new Date().toISOString() };
}

function readHolder(lockDir: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(join(lockDir, 'holder.json'), 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

export function describeHolder(h: Holder | undefined): string {
  if (!h) return 'another process (it has not recorded itself yet)';
  return `${h.command} (pid ${h.pid} on ${h.host}, since ${h.startedAt})`;
}

/** Whether `pid` names a live process here (EPERM: alive, but another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

/** Why an existing lock no longer holds (undefined: it does, or there is none). */
export function staleReason(lockDir: string, now = Date.now()): string | undefined {
  let mtime: number;
  try {
    mtime = statSync(lockDir).mtimeMs;
  } catch {
    return undefined;
  }
  if (now - mtime > STALE_MS) return `not refreshed for ${age(now - mtime)} (stale after ${age(STALE_MS)})`;
  const h = readHolder(lockDir);
  if (h && h.host === os.hostname() && h.pidNamespace === pidNamespace() && h.pid !== process.pid && !alive(h.pid)) {
    return `process ${h.pid} is gone`;
  }
  return undefined;
}

// proper-lockfile removes its lock with rmdir; holder.json lives inside, so removal must take the folder whole.
const LOCK_FS = { ...fs, rmdirSync: (p: fs.PathLike) => rmSync(p, { recursive: true }) };

function acquire(target: string, lockDir: string, o: LockOptions): () => void {
  const log = o.log ?? ((l: string) => process.stderr.write(`vpt: ${l}\n`));
  const why = staleReason(lockDir);
  if (why) {
    log(`taking over the lock on ${target} left by ${describeHolder(readHolder(lockDir))}: ${why}`);
    rmSync(lockDir, { recursive: true, force: true });
  }
  const onLost = o.onLost ?? ((line: string) => {
    process.stderr.write(`vpt: ${line}\n`);
    process.exit(2);
  });
  let release: () => void;
  try {
    release = lockfile.lockSync(target, {
      lockfilePath: lockDir, realpath: false, stale: STALE_MS, update: HEARTBEAT_MS, fs: LOCK_FS,
      onCompromised: (e) => onLost(`lost the lock on ${target} (${e.message}): another writer took it over; stopping so that two do not write one output`),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new OutputBusyError(`${target} is in use by ${describeHolder(readHolder(lockDir))}: wait for it to finish, or write elsewhere`);
    }
    if (isFileSystemError(e)) throw new OutputPathError(`cannot write ${target}: ${causeOf(e)}`);
    throw e;
  }
  // Writing holder.json changes the lock folder's mtime, which proper-lockfile checks at each refresh to see that the
  // lock is still its own: put it back (all synchronous, so no refresh runs in between).
  const { atime, mtime } = statSync(lockDir);
  try {
    writeFileSync(join(lockDir, 'holder.json'), JSON.stringify(me(o.command)) + '\n');
  } finally {
    utimesSync(lockDir, atime, mtime);
  }
  return release;
}

function released(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    try {
      release();
    } catch (e) {
      // Already lost to another writer (onLost said so), or removed by hand: nothing left to free.
      if ((e as NodeJS.ErrnoException).code !== 'ERELEASED') throw e;
    }
  };
}

/**
 * Locks a results folder, creating it (and its parents) if absent: `<dir>/.vpt-lock`. Throws
 * {@link OutputBusyError} naming the holder when another writer has it, {@link OutputPathError} when the folder
 * cannot be written.
 */
export function lockFolder(dir: string, o: LockOptions): OutputLock {
  const created = makeOutputFolder(dir);
  let release: () => void;
  try {
    release = released(acquire(dir, join(dir, LOCK_NAME), o));
  } catch (e) {
    if (created) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    target: dir,
    release: () => {
      release();
      if (!created) return;
      try {
        rmdirSync(dir);
      } catch {
        // Not empty: it holds what the command wrote.
      }
    },
  };
}

/** Locks one output file: `<file>.lock` beside it (its folder is created if absent). */
export function lockFile(file: string, o: LockOptions): OutputLock {
  makeOutputFolder(dirname(file));
  const release = released(acquire(file, join(dirname(file), `${basename(file)}.lock`), o));
  return { target: file, release };
}

/** Whether `name` (an entry of a results folder) is the lock, which a folder's contents do not include. */
export function isLock(name: string): boolean {
  return name === LOCK_NAME;
}
