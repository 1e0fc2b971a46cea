/**
 * The audit log as the teacher reads it: who, when, what — one translated sentence per entry,
 * built from the entry's stored details (never from text stored in another language).
 */
import type { AuditEntry, Actor } from '../../certificates/audit.service';
import { floorPercent } from '../../certificates/evaluate';
import { formatDate, type Translator } from '../../i18n';

export interface AuditRow {
  at: Date;
  /** ISO 8601, for the page's <time datetime>. */
  iso: string;
  when: string;
  who: string;
  what: string;
  reason: string | null;
  /** A remark on the entry, e.g. the characters an issued certificate printed as boxes. */
  note: string | null;
  certificateId: string | null;
}

type Details = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const score = (v: unknown): number => floorPercent(num(v));

/** "23 November 2026, 14:05 UTC". */
export function formatDateTime(at: Date, t: Translator): string {
  const hh = String(at.getUTCHours()).padStart(2, '0');
  const mm = String(at.getUTCMinutes()).padStart(2, '0');
  return t('teacher.audit.dateTime', { date: formatDate(at, t.lang), time: `${hh}:${mm}` });
}

export function describeActor(actor: Actor, t: Translator): string {
  if (actor.kind === 'system') return t('teacher.audit.actor.system');
  const name = actor.name?.trim() || actor.userId || '?';
  return t(`teacher.audit.actor.${actor.kind}`, { name });
}

/** The characters an issued certificate printed as boxes (no font has them), if any. */
const glyphNote = (d: Details, t: Translator): string | null =>
  typeof d.missingGlyphs === 'string' && d.missingGlyphs ? t('documents.glyphs.audit', { chars: d.missingGlyphs }) : null;

function describe(entry: AuditEntry, t: Translator, definitionTitle: string): { what: string; reason: string | null; note?: string | null } {
  // after AUDIT_DETAIL_RETENTION_DAYS the names are gone: the sentence says "(name removed)"
  const removed = entry.detailsRemovedAfterDays !== undefined ? t('teacher.audit.removedName') : undefined;
  const d: Details = removed ? { ...entry.details, learnerName: removed, certificate: { learnerName: removed } } : entry.details;
  const certificate = (d.certificate ?? {}) as Details;
  switch (entry.action) {
    case 'certificate_issued':
      return { what: t('teacher.audit.action.certificate_issued', { learner: text(d.learnerName), code: text(d.code), score: score(d.scorePercent), title: definitionTitle }), reason: null, note: glyphNote(d, t) };
    case 'certificate_reissued':
      return {
        what: t('teacher.audit.action.certificate_reissued', {
          previousCode: text(d.previousCode),
          previousScore: score(d.previousScorePercent),
          code: text(d.code),
          score: score(d.scorePercent),
          title: definitionTitle,
        }),
        reason: null,
        note: glyphNote(d, t),
      };
    case 'certificate_revoked':
      return {
        what: t('teacher.audit.action.certificate_revoked', {
          learner: text(certificate.learnerName),
          code: text(certificate.code),
          score: score(certificate.scorePercent),
          title: definitionTitle,
        }),
        reason: text(d.reason) || null,
      };
    case 'certificates_revoked_all':
      return { what: t('teacher.audit.action.certificates_revoked_all', { count: num(d.count), title: definitionTitle }), reason: text(d.reason) || null };
    case 'generate_all':
      return {
        what: t('teacher.audit.action.generate_all', { issued: num(d.issued), total: num(d.total), title: definitionTitle, aborted: d.aborted === true ? 'yes' : 'no' }),
        reason: null,
      };
    case 'definition_created':
      return { what: t('teacher.audit.action.definition_created', { title: definitionTitle }), reason: null };
    case 'definition_changed': {
      const changes = Object.keys((d.changes ?? {}) as Details).map((f) => (t.has(`teacher.form.${f}.label`) ? t(`teacher.form.${f}.label`) : f));
      return { what: t('teacher.audit.action.definition_changed', { title: definitionTitle, version: num(d.toVersion), fields: changes.join(', ') }), reason: null };
    }
    case 'definition_archived':
      return { what: t('teacher.audit.action.definition_archived', { title: definitionTitle }), reason: null };
    case 'settings_changed': {
      const auto = ((d.changes ?? {}) as Details).autoReissue as { after?: unknown } | undefined;
      return { what: t('teacher.audit.action.settings_changed', { autoReissue: auto?.after === true ? 'on' : 'off' }), reason: null };
    }
    default:
      return { what: text(entry.action), reason: null };
  }
}

/** The rows of one page of the audit log; `titles` maps definition ids to their titles. */
export function auditRows(entries: AuditEntry[], titles: Map<string, string>, t: Translator): AuditRow[] {
  return entries.map((e) => {
    const title = (e.definitionId && titles.get(e.definitionId)) || t('teacher.audit.unknownCertificate');
    const described = describe(e, t, title);
    const { what, reason } = described;
    const note = e.detailsRemovedAfterDays !== undefined ? t('teacher.audit.detailsRemoved', { days: e.detailsRemovedAfterDays }) : described.note;
    const actor = e.detailsRemovedAfterDays !== undefined && e.actor.kind !== 'system' ? { kind: e.actor.kind, name: t('teacher.audit.removedName') } : e.actor;
    const isCertificate = e.action === 'certificate_issued' || e.action === 'certificate_reissued' || e.action === 'certificate_revoked';
    return { at: e.at, iso: e.at.toISOString(), when: formatDateTime(e.at, t), who: describeActor(actor, t), what, reason, note: note ?? null, certificateId: isCertificate && e.issueId ? e.issueId : null };
  });
}
