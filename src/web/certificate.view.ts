/**
 * How every page shows a certificate: its status word and badge, whether it may be seen without
 * a launch (R2), and the summary the learner's, the teacher's and the certificate's pages list.
 */
import { glyphAuditDetails } from '../certificates/issue-writes';
import type { CertificateState } from '../certificates/certificate-state';
import { certificateState } from '../certificates/certificate-state';
import type { DefinitionDoc } from '../certificates/definition.service';
import type { IssueDoc } from '../certificates/certificate.queries';
import { verificationUrlOf } from '../documents';
import type { Launch } from '../lti/launch';
import type { WebContext } from './context';

/** The status word and badge colour of a certificate, as every page shows them. */
export const STATUS_VIEW: Record<CertificateState, { key: string; badge: string }> = {
  active: { key: 'valid', badge: 'ok' },
  expired: { key: 'expired', badge: 'warn' },
  superseded: { key: 'superseded', badge: 'warn' },
  revoked: { key: 'revoked', badge: 'bad' },
};

/** May certificates of this definition be seen without a launch (R2)? Both switches must be on. */
export function isPublic(
  ctx: Pick<WebContext, 'config'>,
  definition: Pick<DefinitionDoc, 'public'> | null | undefined,
  certificate?: Pick<IssueDoc, 'publicAtIssue' | 'erasedAt'>,
): boolean {
  // a certificate issued while its definition was private stays private; an erased learner's shows no content (#14)
  if (certificate && (certificate.publicAtIssue === false || certificate.erasedAt)) return false;
  return ctx.config.publicCertificates && definition?.public === true;
}

/** Whether a certificate in this state is handed out as a PDF (a replaced or revoked one is still shown, not handed out). */
export function hasPdf(c: Pick<IssueDoc, 'status' | 'expiresAt'>, now: Date): boolean {
  const state = certificateState(c, now);
  return state === 'active' || state === 'expired';
}

/**
 * No browser to print with and no stored PDF: the PDF link would answer 503, so the pages show
 * "PDF being prepared" instead of it. The browser is looked up (one stat) only when it matters.
 */
function pdfIsPending(ctx: Partial<Pick<WebContext, 'renderer'>>, c: Pick<IssueDoc, 'pdfFileId'>, handedOut: boolean): boolean {
  return handedOut && !c.pdfFileId && ctx.renderer !== undefined && !ctx.renderer.browserStatus().ok;
}

/** A certificate as the learner's and the teacher's pages list it. */
export function certificateSummary(ctx: Pick<WebContext, 'config'> & Partial<Pick<WebContext, 'renderer'>>, session: string, c: IssueDoc, now: Date, definition?: Pick<DefinitionDoc, 'public'> | null) {
  const state = certificateState(c, now);
  const base = `/app/${session}/certificates/${String(c._id)}`;
  const pdfPending = pdfIsPending(ctx, c, hasPdf(c, now));
  return {
    id: String(c._id),
    title: c.title,
    version: c.version,
    state,
    statusKey: `common.status.${STATUS_VIEW[state].key}`,
    badge: STATUS_VIEW[state].badge,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    revokedAt: c.revokedAt ?? null,
    scorePercent: c.template.showScore ? c.scorePercent : null,
    viewUrl: base,
    pdfUrl: hasPdf(c, now) && !pdfPending ? `${base}.pdf` : null,
    pdfPending,
    newerUrl: c.supersededBy ? `/app/${session}/certificates/${String(c.supersededBy)}` : null,
    verifyUrl: verificationUrlOf(ctx.config.publicUrl, c.code),
    code: c.code,
    isPublic: isPublic(ctx, definition, c),
  };
}

/** The data of the `certificate` template (one certificate inside a launch). */
export function certificatePageView(
  ctx: Pick<WebContext, 'config' | 'renderer'>,
  args: { session: string; launch: Launch; certificate: IssueDoc; definition: Pick<DefinitionDoc, 'public'> | null; now: Date },
) {
  const { session, launch, certificate: c } = args;
  const teacher = launch.role === 'teacher';
  const summary = certificateSummary(ctx, session, c, args.now, args.definition);
  // No browser to print with and no stored PDF: say so instead of a link that fails.
  const { pdfPending } = summary;
  return {
    title: c.title,
    session,
    launch,
    teacher,
    backUrl: `/app/${session}/${teacher ? 'teacher' : 'learner'}`,
    certificate: {
      ...summary,
      learnerName: c.learnerName,
      courseTitle: c.courseTitle,
      issuerName: c.issuerName,
      revokedReason: teacher ? c.revokedReason ?? null : null,
      // The teacher is told which characters print as boxes (no font has them); see issue-writes.ts.
      missingGlyphs: teacher ? glyphAuditDetails(c).missingGlyphs ?? null : null,
      setupCommand: pdfPending ? ctx.renderer.browserStatus().command : null,
      htmlUrl: `${summary.viewUrl}.html`,
      landscape: c.template.orientation === 'landscape',
    },
  };
}
