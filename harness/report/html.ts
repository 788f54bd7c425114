/**
 * The HTML report: one self-contained page (inline CSS, inline SVG, no script, a content security policy that
 * forbids every fetch) holding the compact tables, then the diagnostics, then the plots, so it opens offline and
 * can be attached anywhere.
 */
import { cellText, columnLabel, footerLine, rowLabel, type TableModel } from './model.js';
import type { PlotSpec } from './plots.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableHtml(t: TableModel): string {
  const rows: string[] = [];
  if (t.columns.some((c) => c.group)) {
    const spans: { group: string; n: number }[] = [];
    for (const c of t.columns) {
      const last = spans[spans.length - 1];
      if (last && last.group === (c.group ?? '')) last.n++;
      else spans.push({ group: c.group ?? '', n: 1 });
    }
    rows.push(`<tr><th></th>${spans.map((s) => `<th colspan="${s.n}" class="group">${escapeHtml(s.group)}</th>`).join('')}</tr>`);
  }
  rows.push(`<tr><th>${escapeHtml(t.rowHeader)}</th>${t.columns.map((c) => `<th>${escapeHtml(columnLabel(c))}</th>`).join('')}</tr>`);
  let group: string | undefined;
  const body = t.rows.map((r) => {
    // A row group (the model of a table across suites) gets a heading row where it changes.
    const heading = r.group !== undefined && r.group !== group ? `<tr class="group"><th colspan="${t.columns.length + 1}" scope="rowgroup">${escapeHtml(r.group)}</th></tr>` : '';
    group = r.group;
    const tds = t.columns.map((c) => {
      const cell = r.cells[c.key];
      if (!cell) return '<td class="empty">–</td>';
      const x = cellText(cell, c);
      const core = escapeHtml(x.spread !== undefined ? `${x.main} ± ${x.spread}` : x.main);
      const shown = x.best ? `<strong>${core}</strong>` : core;
      const extra = x.extra ? ` <span class="ci">${escapeHtml(x.extra)}</span>` : '';
      return `<td class="${cell.kind}">${shown}${extra}</td>`;
    });
    return `${heading}<tr${r.note ? ' class="context"' : ''}><th scope="row">${escapeHtml(rowLabel(r))}</th>${tds.join('')}</tr>`;
  });
  return [
    `<figure class="table" id="table-${t.name}" data-table="${t.name}">`,
    `<figcaption><b>${escapeHtml(t.title)}.</b> ${escapeHtml(t.caption)}</figcaption>`,
    `<table><thead>${rows.join('')}</thead><tbody>${body.join('')}</tbody></table>`,
    `<p class="footer">${escapeHtml(footerLine(t.footer))}</p>`,
    '</figure>',
  ].join('\n');
}

export interface PageInput {
  suite: string;
  sources: string[];
  tables: TableModel[];
  plots: { plot: PlotSpec; svg: string }[];
  skipped: string[];
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555;font-size:.9rem}figure{margin:1.2rem 0}figure.table{overflow-x:auto}figcaption{font-size:.9rem;color:#333;margin-bottom:.4rem;max-width:70rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.88rem}
th,td{padding:.25rem .6rem;text-align:right;white-space:nowrap}thead th{white-space:normal;vertical-align:bottom;max-width:8.5rem}th[scope=row],thead th:first-child{text-align:left}
thead tr:last-child th{border-bottom:1.5px solid #333}thead tr:first-child th{border-top:1.5px solid #333}tbody tr:last-child th,tbody tr:last-child td{border-bottom:1.5px solid #333}
th.group{text-align:center;border-bottom:1px solid #999}tr.group th{text-align:left;font-style:italic;padding-top:.6rem}tr.context{color:#666;font-style:italic}.ci{color:#666;font-size:.82em}
.footer{font-size:.8rem;color:#666;margin:.3rem 0 0}.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:1rem}
.plot svg{max-width:100%;height:auto}.skipped,.none{color:#666;font-size:.85rem}
`;

export function pageHtml(p: PageInput): string {
  const plots = p.plots.map(
    ({ plot, svg }) =>
      `<figure class="plot" id="plot-${plot.name}" data-plot="${plot.name}">\n<figcaption><b>${escapeHtml(plot.title)}.</b> ${escapeHtml(plot.caption)} ` +
      `<span class="meta">(spec: plots/${plot.name}.vl.json)</span></figcaption>\n${svg}\n</figure>`,
  );
  const skipped = p.skipped.length ? `<p class="skipped">Not drawn: ${p.skipped.map(escapeHtml).join('; ')}.</p>` : '';
  const first = p.tables[0];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vpt report: ${escapeHtml(p.suite)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>vpt report: ${escapeHtml(p.suite)}</h1>
<p class="meta">${first ? escapeHtml(footerLine(first.footer)) : ''}<br>from ${p.sources.map(escapeHtml).join(', ')}</p>
</header>
<h2>Tables</h2>
${p.tables.filter((t) => t.section === 'compact').map(tableHtml).join('\n')}
<h2>Diagnostics</h2>
${p.tables.filter((t) => t.section === 'diagnostics').map(tableHtml).join('\n') || '<p class="none">No arm recorded diagnostics.</p>'}
<h2>Plots</h2>
<div class="plots">
${plots.join('\n')}
</div>
${skipped}
</body>
</html>
`;
}
