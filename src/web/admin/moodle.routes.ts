/**
 * /admin/moodle: the administrator sets up Moodle web services once per platform — the Moodle
 * address (the registration's issuer, unless Moodle is reached at another address), the token of
 * a dedicated web-service user (stored encrypted), whether to read course completion — and tests
 * the connection: each function called once, what is missing said in Moodle's own menu words.
 * Mounted by admin.routes.ts behind its administrator check.
 */
import { Router, type RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import { platformFamiliesByIssuer, recentContextIds } from '../../courses/course.service';
import { NotFoundError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import { inEnglish } from '../../i18n/english';
import { parseAdminForm } from '../validate';
import { requireRegisteredIssuer } from './registered-issuer';
import type { MoodleHttp } from '../../grades/moodle/moodle-ws.client';
import {
  listMoodleConnections,
  openMoodleClient,
  recordMoodleTest,
  removeMoodleConnection,
  saveMoodleConnection,
  testMoodleConnection,
} from '../../grades/moodle/moodle-connection.service';
import type { LtiProvider } from '../../lti/provider';
import type { Views } from '../views';

export interface MoodleAdminDeps {
  conn: Connection;
  lti: Pick<LtiProvider, 'listPlatforms'>;
  views: Views;
  now: () => Date;
  /** LTI_KEY (the token's encryption key derives from it) and the HTTP layer for calls to Moodle. */
  moodle: { ltiKey: string; http: MoodleHttp };
  requireAdmin: RequestHandler;
}

const checkbox = z.enum(['on', '1', 'true']).optional().transform((v) => v !== undefined);
const courseIdField = z.string().trim().regex(/^\d*$/, 'give a Moodle course id (the number in course/view.php?id=…)').optional();
const SaveSchema = z.object({
  issuer: z.string().min(1).max(2000),
  baseUrl: z.string().trim().max(2000).optional(),
  token: z.string().max(200).optional(),
  readCompletion: checkbox,
  testCourseId: courseIdField,
});
const IssuerSchema = z.object({ issuer: z.string().min(1).max(2000), testCourseId: courseIdField });

/** Shown from admin.moodle.noCourse (the page reads it for the 'setup' row). */
const NO_TEST_COURSE = { key: 'admin.moodle.noCourse' };

export function moodleAdminRouter(deps: MoodleAdminDeps): Router {
  const router = Router();
  const page = '/admin/moodle';

  /** The course to test with: the one the administrator named, else the latest this platform launched from. */
  async function testCourseFor(issuer: string, given?: string): Promise<number | undefined> {
    if (given) return Number(given);
    const numeric = (await recentContextIds(deps.conn, issuer)).find((contextId) => /^\d+$/.test(contextId));
    return numeric ? Number(numeric) : undefined;
  }

  async function runTest(issuer: string, given?: string): Promise<void> {
    const opened = await openMoodleClient({ conn: deps.conn, ltiKey: deps.moodle.ltiKey, http: deps.moodle.http, now: deps.now }, issuer);
    if (!opened) throw new NotFoundError('Set up Moodle web services for this platform first.', undefined, { key: 'admin.error.noMoodle' });
    const courseId = await testCourseFor(issuer, given);
    if (courseId === undefined) {
      await recordMoodleTest(deps.conn, issuer, {
        at: deps.now(),
        ok: false,
        checks: [{ wsfunction: 'setup', ok: false, message: inEnglish(NO_TEST_COURSE), translated: NO_TEST_COURSE }],
      });
      return;
    }
    const result = await testMoodleConnection(opened.client, courseId, { readCompletion: opened.connection.readCompletion });
    await recordMoodleTest(deps.conn, issuer, { at: deps.now(), ok: result.ok, courseId, checks: result.checks });
  }

  router.get(page, deps.requireAdmin, async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      const [platforms, connections, familiesOf] = await Promise.all([
        deps.lti.listPlatforms(),
        listMoodleConnections(deps.conn),
        platformFamiliesByIssuer(deps.conn),
      ]);
      const byIssuer = new Map(connections.map((c) => [c.issuer, c]));
      // A platform whose launches all say it is Chamilo or Canvas has no Moodle web services to set up.
      const notMoodle = (issuer: string) => {
        const seen = familiesOf.get(issuer) ?? [];
        return seen.length > 0 && seen.every((f) => f === 'chamilo' || f === 'canvas');
      };
      const issuers = [...new Map(platforms.map((p) => [p.issuer, p])).values()].filter((p) => byIssuer.has(p.issuer) || !notMoodle(p.issuer));
      const t = createTranslator(pickLanguage(req.get('accept-language')));
      res.type('html').send(
        deps.views.render('admin-moodle', {
          title: t('admin.moodle.title'),
          lang: req.get('accept-language'),
          platforms: issuers.map((p) => {
            const c = byIssuer.get(p.issuer);
            return {
              name: p.name,
              issuer: p.issuer,
              setUp: Boolean(c),
              baseUrl: c?.baseUrl ?? p.issuer,
              customBaseUrl: c && c.baseUrl !== p.issuer ? c.baseUrl : '',
              tokenHint: c?.tokenHint,
              readCompletion: c?.readCompletion ?? false,
              setAt: c?.setAt?.toISOString(),
              lastTest: c?.lastTest ? { ...c.lastTest, at: c.lastTest.at.toISOString(), checks: c.lastTest.checks.map((k) => ({ ...k, message: k.translated ? t(k.translated.key, k.translated.params) : k.message })) } : undefined,
            };
          }),
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/save`, deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(SaveSchema, req.body);
      await requireRegisteredIssuer(deps.lti, body.issuer);
      await saveMoodleConnection({ conn: deps.conn, ltiKey: deps.moodle.ltiKey, now: deps.now }, { issuer: body.issuer, baseUrl: body.baseUrl, token: body.token, readCompletion: body.readCompletion });
      await runTest(body.issuer, body.testCourseId);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/test`, deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(IssuerSchema, req.body);
      await runTest(body.issuer, body.testCourseId);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/remove`, deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(IssuerSchema, req.body);
      await removeMoodleConnection(deps.conn, body.issuer);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  return router;
}
