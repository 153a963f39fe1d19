// Bench reports render the same tables as Markdown and as a standalone, escaped HTML page.
import { describe, expect, it } from 'vitest';
import { type BenchReport, reportHtml, reportMarkdown } from '../../bench/report';

const report: BenchReport = {
  date: '2026-12-07T08:00:00Z',
  machine: '2 CPUs',
  quick: true,
  suites: [
    {
      suite: 'modes',
      title: 'Proxy modes',
      note: 'first <and> last',
      tables: [{ caption: 'at 1,000 Services', columns: ['mode', 'rules'], rows: [['iptables', '11,759 | a']] }],
    },
  ],
};

describe('bench report', () => {
  it('Markdown: a section per suite, tables with escaped pipes', () => {
    const md = reportMarkdown(report, ['intro line', '']);
    expect(md).toContain(
      '## Proxy modes\n\nfirst <and> last\n\nat 1,000 Services\n\n| mode | rules |\n|---|---|\n| iptables | 11,759 \\| a |',
    );
    expect(md.startsWith('# Benchmark results\n\nintro line\n\n- date: 2026-12-07T08:00:00Z')).toBe(true);
  });

  it('HTML: escaped text, a table per table, a link per suite, no scripts', () => {
    const html = reportHtml(report);
    expect(html).toContain('<p>first &lt;and&gt; last</p>');
    expect(html).toContain('<tr><td>iptables</td><td>11,759 | a</td></tr>');
    expect(html).toContain('<a href="#modes">Proxy modes</a>');
    expect(html).toContain('(quick sizes)');
    expect(html).not.toContain('<script');
  });
});
