/** Renders docs/errors.md from the registry, so the doc cannot drift from the code. */
import { type ErrorEntry, errorSections } from './registry.js';

const EXIT_STATUS = { usage: 2, operational: 3 } as const;

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The full text of docs/errors.md. */
export function renderErrorsDoc(): string {
  const sections = errorSections.flatMap((section) => [
    `## ${section.title}`,
    '',
    '| code | exit | HTTP | meaning | how to fix |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(section.codes).map(([code, entry]: [string, ErrorEntry]) => {
      const http = entry.httpStatus ?? '';
      return `| \`${code}\` | ${EXIT_STATUS[entry.kind]} | ${http} | ${cell(entry.message)} | ${cell(entry.hint)} |`;
    }),
    '',
  ]);
  return [
    '# porthole error codes',
    '',
    'Every error porthole reports carries a stable `code`. With `--json` it is printed as',
    '`{"error": {"code", "message", "hint"}}` on stdout; otherwise as `error CODE: message` and',
    '`hint: ...` on stderr. Codes never change meaning; new conditions get new codes.',
    '',
    'Exit status 2 means bad input or usage; 3 means an operational error. (0 is all good and',
    '1 is a check that ran and found a problem: those are results, not errors.)',
    '',
    "HTTP is the status the check service and the fleet's front answer a code with, the body being",
    '`{"error": {"code", "message", "hint"}}`; it is empty for codes no HTTP route answers. Two',
    'refusals keep `E_CHECK_REQUEST` with their own status: a body over the size limit (413) and a',
    'content type the service does not parse (415; it reads JSON).',
    '',
    'This file is generated from `src/errors/registry.ts` by `npm run errors:docs`; a test fails',
    'when the two differ.',
    '',
    ...sections,
  ].join('\n');
}
