/**
 * The check that LaTeX tables compile and fit a page: one article document that inputs every table (one per
 * page) at a paper's text width, compiled with pdflatex; any overfull \hbox (a table, caption or footer wider
 * than the text), float taller than the page, or LaTeX error fails it, naming the table. Used by `.ci/run`
 * (scripts/check-latex.ts) on every published table and by its test on a deliberately over-wide one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The text width of NeurIPS and ICLR pages (5.5 in = 397.5 pt); ICML's and ACL's are wider. */
export const TEXT_WIDTH = '5.5in';

export interface TexProblem {
  /** The table file being typeset when it happened ('' before the first). */
  file: string;
  what: string;
}

export interface TexCheck {
  ok: boolean;
  files: string[];
  problems: TexProblem[];
  /** The compiled document (one table per page), when pdflatex produced one. */
  pdf?: string;
  /** pdflatex's log, for whoever must read more than the problems. */
  log: string;
}

/** *.tex files under the given files and folders, sorted per folder. */
export function texFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) walk(join(p, f));
    else if (p.endsWith('.tex')) out.push(resolve(p));
  };
  for (const p of paths) if (existsSync(p)) walk(p);
  return out;
}

/** The document: article class at 10 pt, booktabs, the text width above, each table on a page of its own. */
export function texDocument(files: readonly string[]): string {
  return [
    '\\documentclass[10pt]{article}',
    '\\usepackage{booktabs}',
    `\\setlength{\\textwidth}{${TEXT_WIDTH}}`,
    // Centre the text on letter paper, so a rendered page shows the margins as a reader would.
    '\\setlength{\\oddsidemargin}{\\dimexpr(8.5in-\\textwidth)/2-1in\\relax}',
    '\\setlength{\\textheight}{9in}',
    '\\setlength{\\topmargin}{-0.5in}',
    '\\begin{document}',
    ...files.map((f) => `\\typeout{vpt-table: \\detokenize{${f}}}\\input{${f}}\\clearpage`),
    '\\end{document}',
    '',
  ].join('\n');
}

/** Problems in a pdflatex log, each attributed to the table being typeset (the last `vpt-table:` marker). */
export function logProblems(log: string): TexProblem[] {
  const out: TexProblem[] = [];
  let file = '';
  for (const line of log.split('\n')) {
    const marker = /^vpt-table: (.*)$/.exec(line);
    if (marker) file = (marker[1] as string).trim();
    else if (/^Overfull \\hbox/.test(line) || /Float too large for page/.test(line) || /^! /.test(line)) out.push({ file, what: line.trim() });
  }
  return out;
}

/** Whether pdflatex and booktabs are installed (Debian: texlive-latex-base, texlive-latex-recommended). */
export function haveLatex(): boolean {
  const which = spawnSync('kpsewhich', ['booktabs.sty'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '' && spawnSync('pdflatex', ['--version']).status === 0;
}

/** Compiles `files` into one document and reports every problem; throws when pdflatex is not installed. */
export function checkLatex(files: readonly string[]): TexCheck {
  if (!haveLatex()) throw new Error('pdflatex with booktabs is not installed (apt-get install texlive-latex-base texlive-latex-recommended; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'vpt-latex-'));
  writeFileSync(join(dir, 'tables.tex'), texDocument(files));
  // A long line in the log (a path) is not wrapped, so markers and messages stay whole.
  const run = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', '-output-directory', dir, join(dir, 'tables.tex')], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, max_print_line: '100000' }, timeout: 120_000,
  });
  const logFile = join(dir, 'tables.log');
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : `${run.stdout ?? ''}${run.stderr ?? ''}`;
  const problems = logProblems(log);
  if (run.status !== 0 && !problems.some((p) => p.what.startsWith('!'))) problems.push({ file: '', what: `pdflatex exited with ${run.status ?? run.signal}` });
  const pdf = join(dir, 'tables.pdf');
  return { ok: problems.length === 0, files: [...files], problems, ...(existsSync(pdf) ? { pdf } : {}), log };
}
