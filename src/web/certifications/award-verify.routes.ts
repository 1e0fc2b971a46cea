/**
 * `/verify/<code>` for an awarded certification: the same address and look as a course
 * certificate's (src/web/verify.routes.ts, owned by badges), mounted just before it. A code that
 * is no award passes on to the course certificates' page untouched.
 *
 *   GET /verify/:code.json    the answer as JSON
 *   GET /verify/:code         the page: status, and — when the administrator lets certificates be
 *                             public (PUBLIC_CERTIFICATES) — name, overview, holder, issuer, type,
 *                             completion and validity dates, badge: what the PDF and the
 *                             certification page say
 *   GET /verify/:code/badge   the badge image (public awards only)
 */
import { Router, type Request } from 'express';
import { typeText } from '../../certifications/award-document';
import { findAwardByCode, type AwardVerification } from '../../certifications/award.service';
import { showsName } from '../../credentials/holder-choice.service';
import { credentialUrls } from '../../credentials/urls';
import { awardHolderKey } from '../../certifications/award-credential';
import { badgeScope } from '../../certifications/certification.service';
import { verificationUrlOf } from '../../documents/certificate-document.service';
import { loadCourseImage } from '../../documents/images.service';
import { createTranslator, pickLanguage } from '../../i18n';
import { STATUS_VIEW } from '../certificate.view';
import type { WebContext } from '../context';

const STATUS = { active: 'valid', expired: 'expired', revoked: 'revoked', superseded: 'superseded' } as const;

export function awardVerifyRouter(ctx: WebContext): Router {
  const router = Router();
  const open = () => ctx.config.publicCertificates;

  async function answerOf(v: AwardVerification, req: Request) {
    const a = v.award;
    // What was certified is always confirmed; who holds it only when the holder shows their name
    // (asked on the certification page; the administrator's switch is the default), as for course certificates.
    // an erased learner's name never shows (#14, src/privacy)
    const nameShown = !a.erasedAt && (await showsName(ctx.conn, awardHolderKey(a), open()));
    const t = createTranslator(pickLanguage(req.get('accept-language')));
    const verifyUrl = verificationUrlOf(ctx.config.publicUrl, a.code);
    return {
      code: a.code,
      kind: 'certification',
      status: STATUS[v.state],
      valid: v.state === 'active',
      public: nameShown,
      nameShown,
      credentialUrl: nameShown ? credentialUrls(ctx.config.publicUrl).credential(a.code) : undefined,
      certification: {
        name: a.name,
        overview: a.overview,
        ...(nameShown ? { learnerName: a.learnerName } : {}),
        issuerName: a.issuerName,
        type: a.validity.kind,
        typeText: typeText(t, a.validity),
        completedAt: a.completedAt.toISOString(),
        issuedAt: a.issuedAt.toISOString(),
        expiresAt: a.expiresAt ? a.expiresAt.toISOString() : null,
        version: a.version,
        badgeUrl: a.badgeFileId ? `${verifyUrl}/badge` : null,
      },
      ...(a.revokedAt ? { revokedAt: a.revokedAt.toISOString() } : {}),
      ...(v.newest ? { newerVersion: { code: v.newest.award.code, status: STATUS[v.newest.state], verifyUrl: verificationUrlOf(ctx.config.publicUrl, v.newest.award.code) } } : {}),
    };
  }

  router.get('/verify/:code.json', async (req, res, next) => {
    const found = await findAwardByCode(ctx.conn, req.params.code, ctx.now());
    if (!found) return next();
    res.setHeader('Cache-Control', 'no-store');
    res.json(await answerOf(found, req));
  });

  router.get('/verify/:code/badge', async (req, res, next) => {
    const found = await findAwardByCode(ctx.conn, req.params.code, ctx.now());
    if (!found || !found.award.badgeFileId) return next();
    const image = await loadCourseImage(ctx.conn, badgeScope(found.award.certificationId), found.award.badgeFileId, 'badge');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(image.contentType).send(image.data);
  });

  router.get('/verify/:code', async (req, res, next) => {
    const found = await findAwardByCode(ctx.conn, req.params.code, ctx.now());
    if (!found) return next();
    const lang = pickLanguage(req.get('accept-language'));
    const t = createTranslator(lang);
    const view = STATUS_VIEW[found.state];
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(ctx.views.render('certification-verify', { title: t('verify.title'), lang, answer: await answerOf(found, req), statusKey: `common.status.${view.key}`, badge: view.badge }));
  });
  return router;
}
