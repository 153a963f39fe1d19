// Bench results as plain data (suites of tables), and their renderings: the Markdown of
// bench/RESULTS.md, a standalone HTML page, and JSON for other tools.

export interface BenchTable {
  readonly caption: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface SuiteResult {
  readonly suite: string;
  readonly title: string;
  /** What was measured and how, in a sentence or two. */
  readonly note: string;
  readonly tables: readonly BenchTable[];
  /** Machine-readable figures behind the tables. */
  readonly data?: unknown;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: string;
  readonly quick: boolean;
  readonly suites: readonly SuiteResult[];
}

const mdCell = (s: string) => s.replaceAll('|', '\\|');

export function reportMarkdown(r: BenchReport, intro: readonly string[] = []): string {
  const out = [
    '# Benchmark results',
    '',
    ...intro,
    `- date: ${r.date}`,
    `- machine: ${r.machine} (the machine is shared; expect noise of tens of percent)`,
    '',
  ];
  for (const s of r.suites) {
    out.push(`## ${s.title}`, '', s.note, '');
    for (const t of s.tables) {
      if (t.caption) out.push(t.caption, '');
      out.push(`| ${t.columns.map(mdCell).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`);
      for (const row of t.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** One self-contained page: no scripts, no external assets. */
export function reportHtml(r: BenchReport): string {
  const sections = r.suites
    .map(
      (s) => `<section id="${esc(s.suite)}">
<h2>${esc(s.title)}</h2>
<p>${esc(s.note)}</p>
${s.tables
  .map(
    (t) => `<table>
${t.caption ? `<caption>${esc(t.caption)}</caption>\n` : ''}<thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${t.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>`,
  )
  .join('\n')}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>knetsim bench, ${esc(r.date)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3em; }
nav a { margin-right: 1em; }
</style>
</head>
<body>
<h1>knetsim bench</h1>
<p>${esc(r.date)}: ${esc(r.machine)}${r.quick ? ' (quick sizes)' : ''}</p>
<nav>${r.suites.map((s) => `<a href="#${esc(s.suite)}">${esc(s.title)}</a>`).join('')}</nav>
${sections}
</body>
</html>
`;
}
