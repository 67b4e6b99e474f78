/** Text rendering of a {@link CheckReport}: one line per check, expected vs actual. */
import type { Check, CheckReport } from './check.js';

const MARK: Readonly<Record<Check['status'], string>> = {
  pass: 'ok  ',
  fail: 'FAIL',
  skip: '--  ',
  info: 'info',
};

export function renderReport(report: CheckReport): string {
  const lines: string[] = [];
  lines.push(`issuer:     ${report.issuer}`);
  lines.push(`audience:   ${report.audience.join(', ')}`);
  lines.push(`algorithms: ${report.algorithms.join(', ')}`);
  lines.push(`key set:    ${report.jwksUri ?? '(none fetched)'} (${report.keys.length} keys)`);
  for (const key of report.keys) {
    const parts = [`kid ${key.kid ?? '(none)'}`, key.kty, key.crv, key.alg, key.use && `use ${key.use}`];
    lines.push(`  ${parts.filter(Boolean).join('  ')}`);
  }
  lines.push('', 'checks:');
  const width = Math.max(...report.checks.map((check) => check.name.length));
  for (const check of report.checks) {
    let line = `  ${MARK[check.status]}  ${check.name.padEnd(width)}  `;
    if (check.actual !== undefined) line += check.actual;
    if (check.expected !== undefined && check.status !== 'pass') line += `   (expected: ${check.expected})`;
    if (check.note !== undefined) line += `   [${check.note}]`;
    lines.push(line);
  }
  if (report.scopes)
    lines.push('', `scopes granted: ${report.scopes.length ? report.scopes.join(' ') : '(none)'}`);
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  const v = report.verdict;
  lines.push('');
  if (v.accepted) {
    lines.push('verdict: ACCEPTED (the API would serve this request; scopes are checked per operation)');
  } else {
    lines.push(`verdict: REFUSED ${v.status} ${v.code} ${v.reason}`);
    if (v.message) lines.push(`  message:          ${v.message}`);
    if (v.challenge) lines.push(`  WWW-Authenticate: ${v.challenge}`);
    if (v.detail) lines.push(`  detail:           ${v.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
