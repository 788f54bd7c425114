import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readResultsDir } from '../harness/report/read.js';
import { writeReport } from '../harness/report/write.js';
import { tmp } from './helpers.js';
import { writeLmResults, writeVisionResults } from './report-fixtures.js';

/** Debian's chromium (installed by .ci/run); playwright-core drives it and downloads no browser. */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Rendered {
  tables: { name: string; headers: number; rows: number; emptyRowLabels: number; numericCells: number; width: number; height: number }[];
  plots: { name: string; width: number; height: number; marks: number; texts: string[] }[];
  /** Section headings ("h2:...") and figures (table names, "plot") in page order. */
  order: string[];
  notDrawn: string;
}

/**
 * Runs in the page. Kept as plain JavaScript text: tsx's transform adds helpers to TypeScript functions
 * (__name) that do not exist inside the browser.
 */
const INSPECT = `(() => {
  const box = (e) => e.getBoundingClientRect();
  const tables = [...document.querySelectorAll('figure.table')].map((f) => {
    const t = f.querySelector('table');
    const rows = [...t.querySelectorAll('tbody tr')];
    return {
      name: f.getAttribute('data-table') || '',
      headers: t.querySelectorAll('thead th').length,
      rows: rows.length,
      emptyRowLabels: rows.filter((r) => !((r.querySelector('th') || {}).textContent || '').trim()).length,
      numericCells: [...t.querySelectorAll('tbody td')].filter((td) => /\\d/.test(td.textContent || '')).length,
      width: box(t).width,
      height: box(t).height,
    };
  });
  const plots = [...document.querySelectorAll('figure.plot')].map((f) => {
    const svg = f.querySelector('svg');
    // Vega draws marks (lines, areas, bars, symbols) as paths inside groups classed mark-*.
    const marks = svg ? [...svg.querySelectorAll('g[class^="mark-"] path, g[class^="mark-"] rect')]
      .filter((m) => (m.getAttribute('d') || 'rect').length > 0 && box(m).width + box(m).height > 0).length : 0;
    return {
      name: f.getAttribute('data-plot') || '',
      width: svg ? box(svg).width : 0,
      height: svg ? box(svg).height : 0,
      marks,
      texts: svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent || '') : [],
    };
  });
  const order = [...document.querySelectorAll('h2, figure')].map((e) => e.tagName === 'H2' ? 'h2:' + e.textContent : e.getAttribute('data-table') || 'plot');
  return { tables, plots, order, notDrawn: (document.querySelector('.skipped') || {}).textContent || '' };
})()`;

async function inspect(page: Page): Promise<Rendered> {
  return (await page.evaluate(INSPECT)) as Rendered;
}

describe('HTML report in headless Chromium', function () {
  let ctx: BrowserContext;
  const requests: string[] = [];
  const consoleErrors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: .ci/run installs it (apt-get install -y chromium)`);
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'vpt-chromium-')), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
    ctx.on('request', (r) => requests.push(r.url()));
    ctx.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });

  after(async () => {
    await ctx?.close();
  });

  it('renders every table and every plot of the language fixture with content, offline', async () => {
    const dir = tmp('vpt-html-');
    writeLmResults(dir);
    const rep = await writeReport(readResultsDir(dir), join(dir, 'report'));
    const page = await ctx.newPage();
    await page.goto(`file://${rep.html}`);
    const r = await inspect(page);

    // The compact tables first, then the diagnostics, then the plots.
    expect(r.tables.map((t) => t.name)).to.deep.equal(['main', 'ablation', 'cost', 'diagnostics']);
    expect([...new Set(r.order)]).to.deep.equal(['h2:Tables', 'main', 'ablation', 'cost', 'h2:Diagnostics', 'diagnostics', 'h2:Plots', 'plot']);
    for (const t of r.tables) {
      expect(t.rows, t.name).to.be.greaterThan(0);
      expect(t.headers, t.name).to.be.greaterThan(3);
      expect(t.emptyRowLabels, t.name).to.equal(0);
      expect(t.numericCells, t.name).to.be.greaterThan(t.rows);
      expect(t.width * t.height, t.name).to.be.greaterThan(0);
    }
    expect(r.plots.map((p) => p.name)).to.deep.equal([
      'train-loss', 'designer-value', 'designer-gate', 'designer-cos', 'probe-r', 'downstream-nll',
      'metric-pass-1-strict-match', 'metric-pass-1-flexible-extract', 'metric-answer-nll-none',
    ]);
    for (const p of r.plots) {
      expect(p.width * p.height, p.name).to.be.greaterThan(10000);
      expect(p.marks, p.name).to.be.greaterThan(0);
    }
    expect(r.plots[0]?.texts).to.include.members(['learner step', 'training loss']);
    // The legend of the designer plots lists only the designer arms.
    expect(r.plots[1]?.texts).to.include('v-pretraining').and.not.include('uniform-topk');
    expect(r.plots[2]?.texts).to.include('α on wrong results');
    expect(r.notDrawn).to.equal('');

    // Self-contained: the page is the only thing loaded, and nothing was refused or failed.
    expect(requests.filter((u) => !u.startsWith('file://'))).to.deep.equal([]);
    expect(requests.filter((u) => u !== `file://${rep.html}`)).to.deep.equal([]);
    expect(consoleErrors).to.deep.equal([]);

    // The plot specs sit beside the page.
    for (const p of r.plots) {
      const spec = JSON.parse(readFileSync(join(rep.dir, 'plots', `${p.name}.vl.json`), 'utf8')) as { $schema: string };
      expect(spec.$schema).to.match(/vega-lite\/v6/);
    }
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).to.be.greaterThan(50_000);
    await page.close();
  });

  it('leaves out plots without data (no designer or downstream curves) and says so', async () => {
    const dir = tmp('vpt-html-vision-');
    writeVisionResults(dir);
    const rep = await writeReport(readResultsDir(dir), join(dir, 'report'));
    const page = await ctx.newPage();
    await page.goto(`file://${rep.html}`);
    const r = await inspect(page);
    expect(r.plots.map((p) => p.name)).to.deep.equal([
      'train-loss', 'metric-miou-none', 'metric-pixel-acc-none', 'metric-rmse-none', 'metric-absrel-none', 'metric-delta1-none', 'metric-top1-none',
    ]);
    for (const p of r.plots) expect(p.marks, p.name).to.be.greaterThan(0);
    expect(r.notDrawn).to.contain('value V: no cell recorded curves.designer');
    expect(r.notDrawn).to.contain('downstream NLL: no cell recorded curves.downstream');
    expect(r.tables.map((t) => t.name)).to.deep.equal(['main', 'more-metrics', 'ablation', 'cost']);
    expect(r.tables.every((t) => t.rows > 0)).to.equal(true);
    await page.close();
  });
});
