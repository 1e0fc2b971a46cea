/**
 * The learner's signed credential, inside a launch (the certificate page links here):
 *
 *   GET  /certificates/:id/credential.json   the Open Badges 3.0 credential (download)
 *   GET  /certificates/:id/badge.png         the badge with the credential baked in (OB 3.0 baking)
 *   POST /certificates/:id/name-choice       show or hide the holder's name on the verification page
 *
 * Like the certificate itself, a learner reaches only their own (certificateForViewer); only the
 * learner decides about their name.
 */
import { Router, type Response } from 'express';
import { certificateForViewer, type IssueDoc } from '../certificates/certificate.queries';
import { definitionVisibility } from '../certificates/definition.service';
import { bake, badgePng, certificateSource, credentialFor, holderChoice, linkedInAddToProfileUrl, setHolderChoice } from '../credentials';
import { ConflictError, ForbiddenError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import { verificationUrlOf } from '../documents';
import { hasPdf, isPublic } from './certificate.view';
import type { WebContext } from './context';
import { launchOf } from './middleware/session';
import { bodyOf, validateBody } from './validate';
import { NAME_CHOICE_MESSAGES, NameChoiceBody } from './verify/schema';
import { credentialDeps } from './verify-credentials.routes';

async function requested(ctx: WebContext, res: Response, id: string): Promise<IssueDoc> {
  const launch = launchOf(res);
  const c = await certificateForViewer(ctx.conn, { courseId: launch.courseId, role: launch.role, userId: launch.user.id }, id);
  // A revoked or replaced certificate is shown, not handed out (as its PDF).
  if (!hasPdf(c, ctx.now())) throw new ConflictError(createTranslator(pickLanguage(launch.locale))('learner.certificate.noPdf'), { certificate: String(c._id) }, { key: 'learner.certificate.noPdf' });
  return c;
}

function fileBase(c: IssueDoc): string {
  return `${c.title}-${c.code}`.replace(/[^\p{L}\p{N}-]+/gu, '-').replace(/-+/g, '-');
}

const holderKey = (c: Pick<IssueDoc, 'definitionId' | 'userId'>) => ({ kind: 'certificate' as const, definitionId: String(c.definitionId), userId: c.userId });

/** What the certificate page shows about the credential (the `credential-panel` partial). */
export async function credentialPanelView(ctx: WebContext, session: string, c: IssueDoc, viewer: { role: string }) {
  const definition = await definitionVisibility(ctx.conn, c.definitionId);
  const chosen = await holderChoice(ctx.conn, holderKey(c));
  const base = `/app/${session}/certificates/${String(c._id)}`;
  const available = hasPdf(c, ctx.now());
  return {
    available,
    learner: viewer.role === 'learner',
    jsonUrl: `${base}/credential.json`,
    pngUrl: `${base}/badge.png`,
    nameChoiceUrl: `${base}/name-choice`,
    showName: chosen ?? isPublic(ctx, definition, c),
    linkedInUrl: available
      ? linkedInAddToProfileUrl({ name: c.title, organizationName: c.issuerName, issuedAt: c.issuedAt, expiresAt: c.expiresAt, certUrl: verificationUrlOf(ctx.config.publicUrl, c.code), certId: c.code })
      : null,
  };
}

export function credentialDownloadsRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/certificates/:id/credential.json', async (req, res) => {
    const c = await requested(ctx, res, req.params.id);
    const { doc } = await credentialFor(credentialDeps(ctx), certificateSource(c));
    res.attachment(`${fileBase(c)}.json`);
    res.type('application/json').send(doc.json);
  });

  router.get('/certificates/:id/badge.png', async (req, res) => {
    const c = await requested(ctx, res, req.params.id);
    const { doc } = await credentialFor(credentialDeps(ctx), certificateSource(c));
    res.attachment(`${fileBase(c)}.png`);
    res.type('image/png').send(bake(badgePng(c.template.accentColor), doc.json));
  });

  router.post('/certificates/:id/name-choice', validateBody(NameChoiceBody, NAME_CHOICE_MESSAGES), async (req, res) => {
    const launch = launchOf(res);
    if (launch.role !== 'learner') throw new ForbiddenError('Only the holder decides whether their name is shown.', {}, { key: 'verify.holder.onlyHolder' });
    const c = await certificateForViewer(ctx.conn, { courseId: launch.courseId, role: launch.role, userId: launch.user.id }, String(req.params.id));
    await setHolderChoice(ctx.conn, holderKey(c), bodyOf(res, NameChoiceBody).showName === 'on', ctx.now());
    res.redirect(303, `/app/${res.locals.session}/certificates/${String(c._id)}`);
  });

  return router;
}

/** After a claim: the learner's answer to "show my name?", when the claim form asked. */
export async function recordClaimChoice(ctx: WebContext, c: Pick<IssueDoc, 'definitionId' | 'userId'>, body: { showName?: string; showNameAsked?: string }): Promise<void> {
  if (body.showNameAsked !== '1') return;
  await setHolderChoice(ctx.conn, holderKey(c), body.showName === 'on', ctx.now());
}
