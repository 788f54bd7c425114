/**
 * `node --import tsx scripts/check-latex.ts [files or folders...] [--png dir]`: compiles every LaTeX table (default:
 * the published reports/ and the golden tables in test/golden/report/) in one document at a paper's text width
 * and exits 1 on any overfull box, float taller than the page or LaTeX error (harness/report/latex-check.ts);
 * 2 when pdflatex is missing. `--png dir` also renders each page (one table per page) with pdftoppm.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkLatex, haveLatex, TEXT_WIDTH, texFiles } from '../harness/report/latex-check.ts';
import { REPO_ROOT } from '../harness/results/version.ts';

const args = process.argv.slice(2);
const pngAt = args.indexOf('--png');
const pngDir = pngAt >= 0 ? args[pngAt + 1] : undefined;
const paths = args.filter((_, i) => pngAt < 0 || (i !== pngAt && i !== pngAt + 1));
const files = texFiles(paths.length ? paths : [join(REPO_ROOT, 'reports'), join(REPO_ROOT, 'test', 'golden', 'report')]);

if (!haveLatex()) {
  process.stderr.write('check-latex: pdflatex with booktabs is not installed (apt-get install texlive-latex-base texlive-latex-recommended)\n');
  process.exit(2);
}
if (!files.length) {
  process.stderr.write('check-latex: no .tex files found\n');
  process.exit(2);
}
const r = checkLatex(files);
for (const p of r.problems) process.stderr.write(`check-latex: ${p.file ? relative(process.cwd(), p.file) : '(document)'}: ${p.what}\n`);
if (pngDir && r.pdf) {
  mkdirSync(pngDir, { recursive: true });
  spawnSync('pdftoppm', ['-png', '-r', '110', r.pdf, join(pngDir, 'table')], { stdio: 'inherit' });
  files.forEach((f, i) => process.stdout.write(`page ${i + 1}: ${relative(process.cwd(), f)}\n`));
}
process.stdout.write(`${files.length} LaTeX tables at text width ${TEXT_WIDTH}: ${r.ok ? 'all compile and fit' : `${r.problems.length} problem(s)`}\n`);
process.exit(r.ok ? 0 : 1);
