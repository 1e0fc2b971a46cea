/**
 * The learner's page (R1–R3, R10–R11): for every certificate of the course, their progress with
 * the per-activity breakdown and the reasons in words; "Get your certificate" when they qualify;
 * the certificates they hold with view, PDF and the stable verification link.
 *
 *   GET  /        the page (refreshes the learner's grades from the LMS first, within a budget)
 *   POST /claim   "Get your certificate"
 *
 * There is deliberately no route that deletes or cancels a certificate (R3).
 */
import { Router, type Response } from 'express';
import { NotEligibleError } from '../certificates/certificate.errors';
import { claimCertificate } from '../certificates/issue.service';
import { learnerOverview } from '../certificates/learner-overview.service';
import { readLearnerSnapshot } from '../grades/course-grades.service';
import { refreshLearnerGrades } from '../grades/learner-refresh';
import { createTranslator, pickLanguage } from '../i18n';
import type { Launch } from '../lti/launch';
import type { WebContext } from './context';
import { learnerPageView } from './learner/learner.view';
import { CLAIM_MESSAGES, ClaimBody } from './learner/schema';
import { launchOf } from './middleware/session';
import { recordClaimChoice } from './credential-downloads.routes';
import { bodyOf, validateBody } from './validate';

/** How long the page waits for the learner's fresh grades before showing the stored ones. */
export const LEARNER_REFRESH_BUDGET_MS = 4000;

function learnerOf(launch: Launch) {
  const u = launch.user;
  return { userId: u.id, name: u.name, givenName: u.givenName, familyName: u.familyName, email: u.email };
}

interface PageOptions {
  status?: number;
  /** A message key shown above everything (e.g. why a claim was refused). */
  notice?: string;
  /** Refresh the learner's grades from the LMS first (not after a refused claim: they were just read). */
  refresh?: boolean;
}

async function renderLearnerPage(ctx: WebContext, res: Response, opts: PageOptions = {}): Promise<void> {
  const launch = launchOf(res);
  const session = res.locals.session!;
  const lang = pickLanguage(launch.locale);
  const t = createTranslator(lang);
  // One read of the learner's stored grades serves the refresh (what it compares with) and, when
  // the refresh changed nothing, the page.
  const snapshot = opts.refresh === false ? undefined : await readLearnerSnapshot(ctx.conn, launch.courseId, launch.user.id);
  const refresh =
    opts.refresh === false
      ? null
      : await refreshLearnerGrades(ctx, launch.courseId, launch.user, LEARNER_REFRESH_BUDGET_MS, { snapshot, background: true, minIntervalMs: ctx.config.learnerRefreshIntervalMs });
  const now = ctx.now();
  const current = refresh && (refresh.status === 'background' || refresh.status === 'recent' || refresh.status === 'slow' || (refresh.status === 'fresh' && !refresh.changed));
  const overview = await learnerOverview(ctx.conn, launch.courseId, launch.user.id, now, current ? { snapshot } : {});
  const view = learnerPageView(ctx, {
    session,
    launch,
    t,
    overview,
    now,
    notice: opts.notice,
    refresh: refresh && refresh.status !== 'unavailable' ? refresh.status : null,
    refreshedAt: refresh?.status === 'background' || refresh?.status === 'recent' ? refresh.refreshedAt : undefined,
  });
  res.status(opts.status ?? 200).type('html').send(ctx.views.render('learner', { ...view, lang }));
}

export function learnerRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/', (_req, res) => renderLearnerPage(ctx, res));

  // "Get your certificate" (R1). Idempotent: the service guarantees one certificate per learner
  // and definition, so a double click or a second tab lands on the same certificate.
  router.post('/claim', validateBody(ClaimBody, CLAIM_MESSAGES), async (_req, res) => {
    const launch = launchOf(res);
    try {
      const { certificate } = await claimCertificate(ctx.conn, {
        courseId: launch.courseId,
        definitionId: bodyOf(res, ClaimBody).definitionId,
        learner: learnerOf(launch),
        now: ctx.now,
        random: ctx.random,
      });
      await recordClaimChoice(ctx, certificate, bodyOf(res, ClaimBody));
      res.redirect(303, `/app/${res.locals.session}/certificates/${String(certificate._id)}`);
    } catch (err) {
      // Not (yet) eligible: the page itself shows why, item by item, with the refusal on top.
      if (err instanceof NotEligibleError) return renderLearnerPage(ctx, res, { status: 403, notice: 'learner.claim.notEligible', refresh: false });
      throw err;
    }
  });

  return router;
}
