/**
 * Certifications in a launch (any role; each page is about the person who launched):
 *
 *   GET /certifications                    "My certifications" (R10): ?sort=relevance|published
 *   GET /certifications/:id                the certification page (R11), with what is left
 *   GET /certifications/:id/badge          its badge image
 *   GET /certifications/awards/:id/pdf     the learner's award as a PDF
 *   GET /certifications/awards/:id/credential.json   its signed Open Badges 3.0 credential
 *   GET /certifications/awards/:id/badge.png         the badge with the credential baked in
 *   POST /certifications/awards/:id/name-choice      show or hide the holder's name on /verify
 *   …/certifications/manage/…              LMS administrators define certifications (launch-manage.routes.ts)
 *
 * Everything is looked up on the launch's registration and for the launch's user, so another
 * platform's or another learner's id is simply not found.
 */
import { Router, type Response } from 'express';
import { Types } from 'mongoose';
import { awardDocument, typeText } from '../../certifications/award-document';
import { awardModel, type AwardDoc } from '../../certifications/award.model';
import { awardState, completionsOf } from '../../certifications/award.service';
import { awardHolderKey, awardSource, CERTIFICATION_ACCENT } from '../../certifications/award-credential';
import { bake, badgePng, credentialFor, holderChoice, linkedInAddToProfileUrl, setHolderChoice } from '../../credentials';
import { ConflictError } from '../../errors';
import { bodyOf, validateBody } from '../validate';
import { NAME_CHOICE_MESSAGES, NameChoiceBody } from '../verify/schema';
import { credentialDeps } from '../verify-credentials.routes';
import { badgeScope, getCertification } from '../../certifications/certification.service';
import { myCertifications, type MyEntry } from '../../certifications/my-certifications.service';
import { evaluateProgramme, neededOf, renewalOpensAt } from '../../certifications/programme.evaluate';
import { courseModel } from '../../courses/course.model';
import { verificationUrlOf } from '../../documents/certificate-document.service';
import { certificateFileName } from '../../render';
import { loadCourseImage } from '../../documents/images.service';
import { NotFoundError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { Launch } from '../../lti/launch';
import type { WebContext } from '../context';
import { launchOf } from '../middleware/session';
import { queryOf, validateQuery } from '../validate';
import { isLmsAdministrator } from '../../certifications/who';
import { launchManageRouter } from './launch-manage.routes';
import { MyCertificationsQuery } from './schema';

const tenantOf = (launch: Launch) => ({ issuer: launch.issuer, clientId: launch.clientId });

function entryView(e: MyEntry, app: string) {
  return {
    ...e,
    stateKey: `certifications.state.${e.state}`,
    href: e.type === 'certification' ? `${app}/certifications/${e.id}` : e.held ? `/verify/${encodeURIComponent(e.held.code)}` : undefined,
    remaining: e.needed !== undefined ? e.needed - (e.done ?? 0) : undefined,
    coursePending: e.type === 'course-certificate' && e.state === 'pending',
    // proofs' upload form (src/certifications/external, helper proofs)
    proofHref: e.needsProof ? `${app}/certifications/${e.id}/proof` : undefined,
  };
}

export function certificationsRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  router.use(launchManageRouter(ctx));

  router.get('/certifications', validateQuery(MyCertificationsQuery), async (_req, res) => {
    const launch = launchOf(res);
    const app = `/app/${res.locals.session}`;
    const { sort } = queryOf(res, MyCertificationsQuery);
    const entries = await myCertifications(ctx.conn, { tenant: tenantOf(launch), userId: launch.user.id, courseId: new Types.ObjectId(launch.courseId), now: ctx.now(), sort });
    const lang = pickLanguage(launch.locale);
    const t = createTranslator(lang);
    res.type('html').send(
      ctx.views.render('my-certifications', {
        title: t('certifications.my.heading'),
        lang,
        session: res.locals.session,
        base: `${app}/certifications`,
        backHref: `${app}/`,
        manageHref: isLmsAdministrator(launch.roles) ? `${app}/certifications/manage` : null,
        userName: launch.user.name ?? '',
        sort,
        entries: entries.map((e) => entryView(e, app)),
      }),
    );
  });

  router.get('/certifications/awards/:id/pdf', async (req, res) => {
    const launch = launchOf(res);
    const award = await ownAward(ctx, launch, String(req.params.id));
    const lang = pickLanguage(launch.locale);
    const pdf = await ctx.renderer.pdf(await awardDocument(ctx.conn, award, { publicUrl: ctx.config.publicUrl, language: lang }));
    res.setHeader('Content-Disposition', `attachment; filename="${certificateFileName([award.learnerName, award.name])}"`);
    res.type('application/pdf').send(pdf);
  });

  /** An award the learner may hand out: neither revoked nor replaced (like a certificate's PDF). */
  async function handedOut(res: Response, id: string): Promise<AwardDoc> {
    const launch = launchOf(res);
    const award = await ownAward(ctx, launch, id);
    if (award.status !== 'active') {
      const t = createTranslator(pickLanguage(launch.locale));
      throw new ConflictError(t('learner.certificate.noPdf'), { award: String(award._id) }, { key: 'learner.certificate.noPdf' });
    }
    return award;
  }
  const fileBase = (a: AwardDoc) => `${a.name}-${a.code}`.replace(/[^\p{L}\p{N}-]+/gu, '-').replace(/-+/g, '-');

  router.get('/certifications/awards/:id/credential.json', async (req, res) => {
    const award = await handedOut(res, String(req.params.id));
    const { doc } = await credentialFor(credentialDeps(ctx), awardSource(award));
    res.attachment(`${fileBase(award)}.json`);
    res.type('application/json').send(doc.json);
  });

  router.get('/certifications/awards/:id/badge.png', async (req, res) => {
    const award = await handedOut(res, String(req.params.id));
    const { doc } = await credentialFor(credentialDeps(ctx), awardSource(award));
    res.attachment(`${fileBase(award)}.png`);
    res.type('image/png').send(bake(badgePng(CERTIFICATION_ACCENT), doc.json));
  });

  router.post('/certifications/awards/:id/name-choice', validateBody(NameChoiceBody, NAME_CHOICE_MESSAGES), async (req, res) => {
    const launch = launchOf(res);
    const award = await ownAward(ctx, launch, String(req.params.id));
    await setHolderChoice(ctx.conn, awardHolderKey(award), bodyOf(res, NameChoiceBody).showName === 'on', ctx.now());
    res.redirect(303, `/app/${res.locals.session}/certifications/${String(award.certificationId)}`);
  });

  router.get('/certifications/:id/badge', async (req, res) => {
    const c = await getCertification(ctx.conn, tenantOf(launchOf(res)), req.params.id);
    if (!c.badgeFileId) throw new NotFoundError('This certification has no badge image.', { what: 'image' }, { key: 'certifications.error.noBadge' });
    const image = await loadCourseImage(ctx.conn, badgeScope(c._id), c.badgeFileId, 'badge');
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.type(image.contentType).send(image.data);
  });

  router.get('/certifications/:id', async (req, res) => {
    await renderCertificationPage(ctx, res, String(req.params.id));
  });
  return router;
}

/** The `credential-panel` partial for an award (the same panel as a course certificate's). */
async function awardCredentialPanel(ctx: WebContext, app: string, a: AwardDoc) {
  const base = `${app}/certifications/awards/${String(a._id)}`;
  return {
    available: true,
    learner: true,
    jsonUrl: `${base}/credential.json`,
    pngUrl: `${base}/badge.png`,
    nameChoiceUrl: `${base}/name-choice`,
    showName: (await holderChoice(ctx.conn, awardHolderKey(a))) ?? ctx.config.publicCertificates,
    linkedInUrl: linkedInAddToProfileUrl({ name: a.name, organizationName: a.issuerName, issuedAt: a.completedAt, expiresAt: a.expiresAt, certUrl: verificationUrlOf(ctx.config.publicUrl, a.code), certId: a.code }),
  };
}

async function ownAward(ctx: WebContext, launch: Launch, id: string): Promise<AwardDoc> {
  const award = /^[0-9a-f]{24}$/i.test(id) ? await awardModel(ctx.conn).findOne({ _id: id, issuer: launch.issuer, clientId: launch.clientId, userId: launch.user.id }).lean<AwardDoc>() : null;
  if (!award) throw new NotFoundError('This certification does not exist.', { what: 'certification' }, { key: 'certifications.error.notFound' });
  return award;
}

async function renderCertificationPage(ctx: WebContext, res: Response, id: string): Promise<void> {
  const launch = launchOf(res);
  const app = `/app/${res.locals.session}`;
  const now = ctx.now();
  const cert = await getCertification(ctx.conn, tenantOf(launch), id);
  const lang = pickLanguage(launch.locale);
  const t = createTranslator(lang);
  const versions = await awardModel(ctx.conn).find({ certificationId: cert._id, userId: launch.user.id }).sort({ version: -1 }).lean<AwardDoc[]>();
  const shown = versions.find((a) => a.status === 'active') ?? versions[0];
  let left: Array<{ title: string; href?: string }> = [];
  let needed: number | undefined;
  let remaining: number | undefined;
  const active = shown?.status === 'active' ? shown : undefined;
  const opens = active ? renewalOpensAt(active.validity, active.expiresAt) : null;
  if (cert.programme && (!active || (opens && opens.getTime() <= now.getTime()))) {
    const facts = (await completionsOf(ctx.conn, cert, now, [launch.user.id])).get(launch.user.id);
    const decision = evaluateProgramme(cert.programme, facts?.completions ?? [], opens ?? undefined);
    const courses = await courseModel(ctx.conn).find({ _id: { $in: cert.programme.courses.map((c) => c.courseId) } }, { title: 1, contextId: 1, lmsUrl: 1 }).lean();
    left = decision.missing.map((cid) => courses.find((c) => String(c._id) === cid)).filter((c) => c !== undefined).map((c) => ({ title: c.title ?? c.contextId, ...(c.lmsUrl ? { href: c.lmsUrl } : {}) }));
    needed = neededOf(cert.programme);
    remaining = needed - decision.done;
  }
  const source = shown ?? null;
  const credential = shown?.status === 'active' ? await awardCredentialPanel(ctx, app, shown) : null;
  res.type('html').send(
    ctx.views.render('certification', {
      title: cert.name,
      lang,
      session: res.locals.session,
      backHref: `${app}/certifications`,
      learnerName: launch.user.name ?? '',
      // an award shows what it was issued with; a pending one what the certification says today
      certification: {
        id: String(cert._id),
        name: source?.name ?? cert.name,
        overview: source?.overview ?? cert.overview,
        issuerName: source?.issuerName ?? cert.issuerName,
        type: (source?.validity ?? cert.validity).kind,
      },
      typeText: typeText(t, source?.validity ?? cert.validity),
      badgeHref: (source?.badgeFileId ?? cert.badgeFileId) ? `${app}/certifications/${String(cert._id)}/badge` : null,
      state: shown ? awardState(shown, now) : 'pending',
      award: shown
        ? {
            code: shown.code,
            completedAt: shown.completedAt,
            expiresAt: shown.expiresAt,
            state: awardState(shown, now),
            stateKey: `certifications.awardState.${awardState(shown, now)}`,
            verifyHref: verificationUrlOf(ctx.config.publicUrl, shown.code),
            // An award's PDF is printed on request: with no browser to print it, no link that answers 503.
            pdfHref: ctx.renderer.browserStatus().ok ? `${app}/certifications/awards/${String(shown._id)}/pdf` : null,
            basis: shown.basis,
          }
        : null,
      credential,
      left,
      needed,
      remaining,
      history: versions.length > 1 ? versions.map((a) => ({ version: a.version, completedAt: a.completedAt, code: a.code, stateKey: `certifications.awardState.${awardState(a, now)}` })) : [],
    }),
  );
}
