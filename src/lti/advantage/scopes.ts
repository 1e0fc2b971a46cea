/**
 * LTI Advantage scope URIs, and how to explain a missing one to a teacher: which service it
 * belongs to and what the LMS administrator must switch on.
 */
import { SCOPE } from '../claims';

/** The scope URIs, named once in `src/lti/claims.ts`. */
export const SCOPES = SCOPE;

export type ScopeUri = (typeof SCOPES)[keyof typeof SCOPES];

const AGS_FIX =
  "Ask the LMS administrator to enable 'IMS LTI Assignment and Grade Services' with 'Use this service for grade sync and column management' in the tool's settings.";
const NRPS_FIX =
  "Ask the LMS administrator to enable 'IMS LTI Names and Role Provisioning' ('Use this service to retrieve members' information as per privacy settings') in the tool's settings.";

const DESCRIPTIONS: Record<string, { short: string; service: string; fix: string }> = {
  [SCOPES.lineItemReadonly]: { short: 'lineitem.readonly', service: 'AGS: read grade columns', fix: AGS_FIX },
  [SCOPES.lineItem]: { short: 'lineitem', service: 'AGS: manage grade columns', fix: AGS_FIX },
  [SCOPES.resultReadonly]: { short: 'result.readonly', service: 'AGS: read results', fix: AGS_FIX },
  [SCOPES.score]: { short: 'score', service: 'AGS: send scores', fix: AGS_FIX },
  [SCOPES.membershipReadonly]: { short: 'contextmembership.readonly', service: 'NRPS: read the course roster', fix: NRPS_FIX },
};

/** describeMissingScope as a message (grades.syncError.scopeNotGranted.*), for the page. */
export function missingScopeRef(scope: string): { key: string; params: Record<string, string> } {
  const d = DESCRIPTIONS[scope];
  if (!d) return { key: 'grades.syncError.scopeNotGranted.other', params: { scope } };
  const service = d.service.startsWith('NRPS') ? 'nrps' : 'ags';
  const what = Object.entries(SCOPES).find(([, uri]) => uri === scope)?.[0] ?? 'other';
  return { key: `grades.syncError.scopeNotGranted.${service}`, params: { scope: d.short, what } };
}

/** "The platform did not grant 'result.readonly' (AGS: read results). Ask the LMS administrator…" */
export function describeMissingScope(scope: string): string {
  const d = DESCRIPTIONS[scope];
  if (!d) return `The platform did not grant the scope '${scope}'. Ask the LMS administrator to enable it in the tool's settings.`;
  return `The platform did not grant '${d.short}' (${d.service}). ${d.fix}`;
}
