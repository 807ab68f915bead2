// The reporter of `npm test` (scripts/test.sh): a line per top-level test or suite as it ends,
// then every failure with its error and what its file printed, then Node's own counts in a
// line a person reads: "N tests: N passed, N failed, N skipped". What test files print while
// they pass (Dawn's adapter warnings, deprecation notices) stays out; "# SKIP" notes are shown.
// Node sets the exit code from the results, not from this reporter. scripts/test.sh also
// writes the full TAP stream to test-results.tap.

const fmtTime = (ms) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);
const rel = (file) => (file ? String(file).replace(`${process.cwd()}/`, '') : '');

function errorText(err) {
  const cause = err?.cause ?? err;
  if (cause instanceof Error) return cause.stack ?? cause.message;
  if (cause && typeof cause === 'object') return String(cause.message ?? JSON.stringify(cause));
  return String(cause ?? 'failed');
}

export default async function* reporter(source) {
  const output = new Map(); // file -> what it printed
  const failures = []; // { file, name, error }
  const totals = {};
  for await (const ev of source) {
    const d = ev.data ?? {};
    if (ev.type === 'test:stdout' || ev.type === 'test:stderr') {
      const msg = String(d.message ?? '');
      const skips = msg.split('\n').filter((l) => l.startsWith('# SKIP'));
      if (skips.length) yield skips.map((l) => `skip  ${rel(d.file)}: ${l.slice(8).trim()}\n`).join('');
      output.set(d.file, (output.get(d.file) ?? '') + msg);
    } else if (ev.type === 'test:fail' && d.details?.type !== 'suite') {
      failures.push({ file: d.file, name: d.name, error: errorText(d.details?.error) });
    } else if (ev.type === 'test:diagnostic' && d.nesting === 0 && !d.file) {
      // Node's summary of the whole run: "tests 473", "pass 470", ...
      const m = /^(\w+) ([\d.]+)$/.exec(String(d.message ?? ''));
      if (m) totals[m[1]] = Number(m[2]);
    }
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && d.nesting === 0) {
      const mark = ev.type === 'test:fail' ? 'FAIL' : d.skip !== undefined ? 'skip' : 'ok  ';
      yield `${mark}  ${rel(d.file)} \u203a ${d.name} (${fmtTime(d.details?.duration_ms ?? 0)})\n`;
    }
  }
  const byFile = new Map();
  for (const f of failures) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  for (const [file, fails] of byFile) {
    yield `\n==== FAILED in ${rel(file) || '(the runner)'}\n`;
    for (const f of fails) yield `---- ${f.name}\n${f.error}\n`;
    const out = output.get(file) ?? '';
    if (out.trim()) yield `---- what ${rel(file)} printed\n${out}${out.endsWith('\n') ? '' : '\n'}`;
  }
  const n = (k) => totals[k] ?? 0;
  const other = [n('cancelled') && `${n('cancelled')} cancelled`, n('todo') && `${n('todo')} todo`].filter(Boolean).join(', ');
  yield `\n${n('tests')} tests: ${n('pass')} passed, ${n('fail')} failed, ${n('skipped')} skipped${other ? `, ${other}` : ''} (${fmtTime(n('duration_ms'))})\n`;
}
