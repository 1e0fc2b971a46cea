/**
 * Assignment and Grade Services under `/api/courses/:courseId/`: line items, results and scores,
 * with each platform's paging, media type and validation habits.
 */
import express, { type Request, type Response } from 'express';
import { firstString, visibleTo, type SandboxContext } from './context';
import { MEDIA, SCOPE } from './lti-vocabulary';
import { paginate } from './paging';
import { QUIRKS } from './quirks';
import type { SandboxCourse, SandboxLineItem } from './sandbox.store';
import { acceptsMediaType, type ServiceGuard, hasContentType, jsonError, serviceLocals } from './service-guard';

const ACTIVITY_PROGRESS = ['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed'];
const GRADING_PROGRESS = ['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady'];

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

const parseJson = express.json({ type: (req) => /json/i.test(String(req.headers['content-type'] ?? '')), limit: '1mb' });

interface LineItemInput {
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  startDateTime?: string;
  endDateTime?: string;
}

/** Validates a line item body; returns the input or a description of the first fault. */
function readLineItem(body: unknown, course: SandboxCourse): LineItemInput | string {
  if (!body || typeof body !== 'object') return 'The body must be a JSON line item.';
  const b = body as Record<string, unknown>;
  if (typeof b.label !== 'string' || b.label.trim() === '') return 'label is required.';
  if (typeof b.scoreMaximum !== 'number' || !(b.scoreMaximum > 0)) return 'scoreMaximum must be a number greater than 0.';
  for (const name of ['resourceLinkId', 'resourceId', 'tag'] as const) {
    if (b[name] !== undefined && typeof b[name] !== 'string') return `${name} must be a string.`;
  }
  for (const name of ['startDateTime', 'endDateTime'] as const) {
    if (b[name] !== undefined && !isIsoDate(b[name])) return `${name} must be an ISO 8601 date.`;
  }
  if (b.resourceLinkId !== undefined && !course.resourceLinks.some((l) => l.id === b.resourceLinkId)) {
    return `resourceLinkId ${String(b.resourceLinkId)} is not a resource link of this course.`;
  }
  return {
    label: b.label,
    scoreMaximum: b.scoreMaximum,
    resourceLinkId: b.resourceLinkId as string | undefined,
    resourceId: b.resourceId as string | undefined,
    tag: b.tag as string | undefined,
    startDateTime: b.startDateTime as string | undefined,
    endDateTime: b.endDateTime as string | undefined,
  };
}

export function agsRoutes(ctx: SandboxContext, guard: ServiceGuard): express.Router {
  const router = express.Router();
  const readItems = guard([SCOPE.lineItemReadonly, SCOPE.lineItem]);
  const writeItems = guard([SCOPE.lineItem]);

  const renderItem = (item: SandboxLineItem) => ({
    id: ctx.urls.lineItem(item.courseId, item.id),
    label: item.label,
    scoreMaximum: item.scoreMaximum,
    ...(item.resourceLinkId !== undefined ? { resourceLinkId: item.resourceLinkId } : {}),
    ...(item.resourceId !== undefined ? { resourceId: item.resourceId } : {}),
    ...(item.tag !== undefined ? { tag: item.tag } : {}),
    ...(item.startDateTime !== undefined ? { startDateTime: item.startDateTime } : {}),
    ...(item.endDateTime !== undefined ? { endDateTime: item.endDateTime } : {}),
  });

  /** The line item of the URL, if it exists and this client may see it (else answers 404). */
  const findItem = (req: Request, res: Response): SandboxLineItem | undefined => {
    const { course, grant } = serviceLocals(res);
    const item = ctx.store.getLineItem(course.id, String(req.params.lineItemId));
    if (item && !visibleTo(item, grant.clientId) && course.quirks === 'moodle') {
      // Moodle's get_lineitem() applies get_lineitems()'s check and results.php answers 403 for a
      // grade item that exists but is not the tool's (mod/lti/service/gradebookservices/classes/local/resources/results.php).
      jsonError(res, 403, 'forbidden', `Grade item ${String(req.params.lineItemId)} does not belong to this tool.`);
      return undefined;
    }
    if (!item || !visibleTo(item, grant.clientId)) {
      jsonError(res, 404, 'not_found', `There is no line item ${String(req.params.lineItemId)} for this tool in course ${course.id}.`);
      return undefined;
    }
    return item;
  };

  router.get('/api/courses/:courseId/lineitems', readItems, (req, res) => {
    const { course, grant } = serviceLocals(res);
    if (!acceptsMediaType(req, res, course, MEDIA.lineItemContainer)) return;
    const rlid = firstString(req.query.resource_link_id) ?? firstString(req.query.lti_link_id);
    const resourceId = firstString(req.query.resource_id);
    const tag = firstString(req.query.tag);
    const items = ctx.store
      .listLineItems(course.id)
      .filter((item) => visibleTo(item, grant.clientId))
      .filter((item) => (rlid === undefined || item.resourceLinkId === rlid) && (resourceId === undefined || item.resourceId === resourceId) && (tag === undefined || item.tag === tag));
    const quirks = QUIRKS[course.quirks];
    const page = paginate(req, items, ctx.urls.lineItems(course.id), quirks, { typographicQuotes: quirks.agsTypographicQuotes });
    if (page.link) res.set('Link', page.link);
    res.type(MEDIA.lineItemContainer).send(JSON.stringify(page.items.map(renderItem)));
  });

  router.post('/api/courses/:courseId/lineitems', writeItems, (req, res, next) => {
    if (hasContentType(req, res, serviceLocals(res).course, MEDIA.lineItem)) next();
  }, parseJson, (req, res) => {
    const { course, grant } = serviceLocals(res);
    const input = readLineItem(req.body, course);
    if (typeof input === 'string') return jsonError(res, 400, 'invalid_line_item', input);
    if (!course.gradebookOpened) {
      // Chamilo 1.11.28 (observed, platforms.md §6): the evaluation needs the course's gradebook
      // category, which Chamilo creates when a teacher first opens the gradebook; before that the
      // POST dies with an uncaught error, a bare 500 page.
      return void res.status(500).type('html').send('<h1>Internal Server Error</h1>');
    }
    const item = ctx.store.addLineItem(course.id, { ...input, clientId: grant.clientId, module: input.resourceLinkId !== undefined ? 'lti' : 'manual' });
    res.status(201).type(MEDIA.lineItem).send(JSON.stringify(renderItem(item)));
  });

  router.get('/api/courses/:courseId/lineitems/:lineItemId', readItems, (req, res) => {
    if (!acceptsMediaType(req, res, serviceLocals(res).course, MEDIA.lineItem)) return;
    const item = findItem(req, res);
    if (item) res.type(MEDIA.lineItem).send(JSON.stringify(renderItem(item)));
  });

  router.put('/api/courses/:courseId/lineitems/:lineItemId', writeItems, (req, res, next) => {
    if (hasContentType(req, res, serviceLocals(res).course, MEDIA.lineItem)) next();
  }, parseJson, (req, res) => {
    const item = findItem(req, res);
    if (!item) return;
    const input = readLineItem(req.body, serviceLocals(res).course);
    if (typeof input === 'string') return jsonError(res, 400, 'invalid_line_item', input);
    const updated = ctx.store.updateLineItem(item.courseId, item.id, input);
    res.type(MEDIA.lineItem).send(JSON.stringify(renderItem(updated)));
  });

  router.delete('/api/courses/:courseId/lineitems/:lineItemId', writeItems, (req, res) => {
    const item = findItem(req, res);
    if (!item) return;
    ctx.store.deleteLineItem(item.courseId, item.id);
    res.status(204).end();
  });

  router.get('/api/courses/:courseId/lineitems/:lineItemId/results', guard([SCOPE.resultReadonly]), (req, res) => {
    const { course } = serviceLocals(res);
    if (!acceptsMediaType(req, res, course, MEDIA.resultContainer)) return;
    const item = findItem(req, res);
    if (!item) return;
    const userFilter = firstString(req.query.user_id);
    const filterUser = userFilter === undefined ? undefined : ctx.store.getUser(userFilter);
    let results = ctx.store.listResults(course.id, item.id);
    if (userFilter !== undefined) results = filterUser ? results.filter((r) => r.userId === filterUser.id) : [];
    const lineItemUrl = ctx.urls.lineItem(course.id, item.id);
    const quirks = QUIRKS[course.quirks];
    const page = paginate(req, results, `${lineItemUrl}/results`, quirks, { typographicQuotes: quirks.agsTypographicQuotes });
    if (page.link) res.set('Link', page.link);
    const body = page.items.map((result) => {
      const sub = ctx.store.subjectOf(course, ctx.store.requireUser(result.userId));
      return {
        id: `${lineItemUrl}/results/${encodeURIComponent(sub)}`,
        scoreOf: lineItemUrl,
        userId: sub,
        resultScore: round((result.scoreGiven / result.scoreMaximum) * item.scoreMaximum),
        resultMaximum: item.scoreMaximum,
        ...(result.comment !== undefined ? { comment: result.comment } : {}),
        timestamp: result.timestamp,
      };
    });
    res.type(MEDIA.resultContainer).send(JSON.stringify(body));
  });

  router.post('/api/courses/:courseId/lineitems/:lineItemId/scores', guard([SCOPE.score]), (req, res, next) => {
    const { course } = serviceLocals(res);
    // Chamilo 1.11 answers 415 unless Accept is exactly the score media type (platforms.md §6).
    if (QUIRKS[course.quirks].exactMediaTypes && req.get('accept') !== MEDIA.score) {
      return jsonError(res, 415, 'unsupported_media_type', `Accept must be exactly ${MEDIA.score} (got ${JSON.stringify(req.get('accept') ?? null)}).`);
    }
    if (hasContentType(req, res, course, MEDIA.score)) next();
  }, parseJson, (req, res) => {
    const { course } = serviceLocals(res);
    const item = findItem(req, res);
    if (!item) return;
    const quirks = QUIRKS[course.quirks];
    // Canvas answers 422 where others answer 400 to a semantically wrong score.
    const unprocessable = quirks.canvasIdentity ? 422 : 400;
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.userId !== 'string' || b.userId === '') return jsonError(res, 400, 'invalid_score', 'userId is required.');
    if (typeof b.activityProgress !== 'string' || !ACTIVITY_PROGRESS.includes(b.activityProgress)) return jsonError(res, 400, 'invalid_score', `activityProgress must be one of ${ACTIVITY_PROGRESS.join(', ')}.`);
    if (typeof b.gradingProgress !== 'string' || !GRADING_PROGRESS.includes(b.gradingProgress)) return jsonError(res, 400, 'invalid_score', `gradingProgress must be one of ${GRADING_PROGRESS.join(', ')}.`);
    if (!isIsoDate(b.timestamp)) return jsonError(res, 400, 'invalid_score', 'timestamp must be an ISO 8601 date.');
    if (b.scoreGiven !== undefined && b.scoreGiven !== null) {
      if (typeof b.scoreGiven !== 'number' || b.scoreGiven < 0) return jsonError(res, 400, 'invalid_score', 'scoreGiven must be a number ≥ 0.');
      if (typeof b.scoreMaximum !== 'number' || !(b.scoreMaximum > 0)) return jsonError(res, unprocessable, 'invalid_score', 'scoreMaximum (> 0) is required with scoreGiven.');
    }
    if (b.comment !== undefined && b.comment !== null && typeof b.comment !== 'string') return jsonError(res, 400, 'invalid_score', 'comment must be a string.');
    const user = ctx.store.getUser(b.userId);
    const membership = user ? ctx.store.getMembership(course.id, user.id) : undefined;
    if (!user || !membership) return jsonError(res, unprocessable, 'invalid_score', `User ${b.userId} is not enrolled in this course.`);
    const existing = ctx.store.getResult(course.id, item.id, user.id);
    if (existing && Date.parse(existing.timestamp) > Date.parse(b.timestamp)) {
      if (quirks.rejectsStaleScores) return jsonError(res, 400, 'invalid_score', 'The score is older than the result on record.');
      // Moodle and Chamilo keep the newer result and ignore the late score without complaint.
      return res.status(204).end();
    }
    const scoreGiven = typeof b.scoreGiven === 'number' ? b.scoreGiven : null;
    ctx.store.setScore(course.id, item.id, user.id, scoreGiven, {
      scoreMaximum: scoreGiven === null ? undefined : (b.scoreMaximum as number),
      comment: typeof b.comment === 'string' ? b.comment : undefined,
      timestamp: new Date(b.timestamp).toISOString(),
    });
    if (quirks.scoreAnswersResultUrl) {
      const sub = ctx.store.subjectOf(course, user);
      return res.status(200).json({ resultUrl: `${ctx.urls.lineItem(course.id, item.id)}/results/${encodeURIComponent(sub)}` });
    }
    res.status(204).end();
  });

  return router;
}
