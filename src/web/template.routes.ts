/**
 * Certificate templates for teachers: logo and signature uploads, and the preview of a
 * definition's template (saved, or as the form stands before saving) with sample data or one
 * learner's name and current score — as HTML and as PDF, through the same renderer learners get.
 *
 *   POST /app/:session/teacher/templates/images          multipart `file` (+ `kind` logo|signature) → 201 { fileId, url, … },
 *                                                        or from a plain form with `definitionId`: 303 to that definition's
 *                                                        form with `?template.logoFileId=…` to be saved there
 *   GET  /app/:session/images/:fileId                    an uploaded image (launches of its course only)
 *   GET  /app/:session/teacher/templates/preview         the preview page (?definitionId=&learner=)
 *   GET  /app/:session/teacher/templates/preview.html    the certificate HTML (same query)
 *   GET  /app/:session/teacher/templates/preview.pdf     the certificate PDF (same query)
 *   POST …/preview.html, …/preview.pdf                   the same for unsaved settings (the definition form's fields)
 *
 * A template that cannot be drawn (text too long, a damaged or missing image) answers with the
 * cause, so the teacher finds out here and not from a learner.
 */
import { Router, type Request, type Response } from 'express';
import multer from 'multer';
import type { Connection } from 'mongoose';
import { currentLineItems, learnerGrades, readCourseGrades, rosterLearners, rosterName } from '../certificates/course-grades';
import { DefinitionInputSchema, settingErrorRef } from '../certificates/definition.schema';
import { getDefinition, listDefinitions, type DefinitionDoc } from '../certificates/definition.service';
import { evaluateEligibility } from '../certificates/evaluate';
import { toObjectId } from '../certificates/ids';
import { printedCourseTitle } from '../certificates/issue-writes';
import { resolveLearnerName } from '../certificates/certificate-state';
import {
  formatBytes,
  imageLimitBytes,
  loadCourseImage,
  previewDocumentFor,
  storeImage,
  tooLargeError,
  type ImageKind,
} from '../documents';
import { AppError, NotFoundError, userMessage, ValidationError } from '../errors';
import { createTranslator, pickLanguage, type Language, type Translator } from '../i18n';
import type { Launch } from '../lti/launch';
import { RendererUnavailableError, describeMissing, glyphProblems, missingGlyphs, renderCertificateHtml, type CertificateDocument } from '../render';
import { sendCertificateHtml } from './certificate-response';
import type { WebContext } from './context';
import { wantsJson } from './middleware/error-handler';
import { launchOf, requireRole } from './middleware/session';
import { bodyToForm, formToInput } from './teacher/definition-form.view';

type PreviewDefinition = Pick<DefinitionDoc, 'title' | 'issuerName' | 'template' | 'validity' | 'items' | 'thresholdPercent' | 'requireAllGraded' | 'mandatoryMinimum'>;

/** The sample learner's score on previews. */
const SAMPLE_SCORE = 87.5;
/** Learners offered in the preview's "show as" list. */
const MAX_PREVIEW_LEARNERS = 1000;

function translatorOf(launch: Launch): { lang: Language; t: Translator } {
  const lang = pickLanguage(launch.locale);
  return { lang, t: createTranslator(lang) };
}

/** Validates settings like a save would, naming the first bad field. */
function validated(input: unknown): PreviewDefinition {
  const parsed = DefinitionInputSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || 'definition';
    throw new ValidationError(`Certificate setting ${field} ${issue.message}`, { field }, settingErrorRef(field));
  }
  return parsed.data as PreviewDefinition;
}

/**
 * The unsaved settings of the definition form: the teacher page's flat form fields, read exactly
 * as a save reads them (src/web/teacher/definition-form.ts), or the same settings as JSON.
 */
async function unsavedDefinition(conn: Connection, req: Request, courseId: string): Promise<PreviewDefinition> {
  if (!req.is('application/x-www-form-urlencoded')) return validated(req.body);
  const lineItems = await currentLineItems(conn, toObjectId(courseId, 'course'));
  return validated(formToInput(bodyToForm(req.body ?? {}, lineItems)).input);
}

async function learnerFor(conn: Connection, courseId: string, userId: string, t: Translator): Promise<{ name: string; userId: string }> {
  const name = await rosterName(conn, toObjectId(courseId, 'course'), userId);
  if (!name) throw new NotFoundError(t('documents.preview.noLearner'), { field: 'learner' }, { key: 'documents.preview.noLearner' });
  return { name, userId };
}

/** The document a preview shows: sample data, or the chosen learner's name and current score. */
async function previewDocument(ctx: WebContext, launch: Launch, definition: PreviewDefinition, learner: string | undefined, lang: Language, t: Translator): Promise<CertificateDocument> {
  const courseId = toObjectId(launch.courseId, 'course');
  let learnerName = t('documents.preview.sampleName');
  let scorePercent = SAMPLE_SCORE;
  if (learner) {
    const l = await learnerFor(ctx.conn, launch.courseId, learner, t);
    learnerName = l.name;
    const book = await readCourseGrades(ctx.conn, courseId, { userIds: [l.userId] });
    scorePercent = evaluateEligibility(definition, learnerGrades(book, l.userId)).scorePercent;
  }
  return previewDocumentFor(ctx.conn, definition, {
    publicUrl: ctx.config.publicUrl,
    now: ctx.now(),
    language: lang,
    courseId,
    courseTitle: await printedCourseTitle(ctx.conn, courseId).catch(() => launch.context.title ?? ''),
    learnerName,
    scorePercent,
  });
}

function queryString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function templateRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const limit = imageLimitBytes(ctx.config.uploadMaxBytes);
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limit, files: 1, fields: 5, parts: 8 } }).single('file');

  router.use('/teacher/templates', requireRole('teacher'));

  router.post('/teacher/templates/images', (req, res, next) => {
    const launch = launchOf(res);
    const { t } = translatorOf(launch);
    upload(req, res, async (uploadErr: unknown) => {
      try {
        if (uploadErr instanceof multer.MulterError && uploadErr.code === 'LIMIT_FILE_SIZE') throw tooLargeError(limit);
        if (uploadErr instanceof multer.MulterError) throw new ValidationError(t('documents.upload.invalid'), { field: uploadErr.field ?? 'file' }, { key: 'documents.upload.invalid' });
        if (uploadErr) throw uploadErr;
        const file = req.file;
        if (!file || file.size === 0) throw new ValidationError(t('documents.upload.missing'), { field: 'file' }, { key: 'documents.upload.missing' });
        const kind: ImageKind = req.body?.kind === 'signature' ? 'signature' : 'logo';
        const stored = await storeImage(ctx.conn, {
          courseId: launch.courseId,
          kind,
          data: file.buffer,
          uploadedBy: { userId: launch.user.id, name: launch.user.name },
          now: ctx.now(),
          uploadMaxBytes: ctx.config.uploadMaxBytes,
        });
        // A plain form on the preview page goes back to the definition form, which keeps the image
        // until the teacher saves; scripts get the id as JSON.
        const definitionId = typeof req.body?.definitionId === 'string' ? req.body.definitionId : '';
        if (!wantsJson(req) && definitionId) {
          const definition = await getDefinition(ctx.conn, launch.courseId, definitionId);
          const field = kind === 'logo' ? 'template.logoFileId' : 'template.signatureFileId';
          res.redirect(303, `/app/${res.locals.session}/teacher/definitions/${String(definition._id)}/edit?${field}=${stored.fileId}`);
          return;
        }
        res.status(201).json({ ...stored, kind, url: `/app/${res.locals.session}/images/${stored.fileId}` });
      } catch (err) {
        next(err);
      }
    });
  });

  router.get('/images/:fileId', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const image = await loadCourseImage(ctx.conn, launch.courseId, req.params.fileId);
      res.setHeader('Cache-Control', 'private, max-age=3600');
      res.type(image.contentType).send(image.data);
    } catch (err) {
      next(err);
    }
  });

  /** The definition to preview: a saved one (?definitionId=) or the posted form. */
  async function definitionFrom(req: Request, launch: Launch, t: Translator): Promise<{ definition: PreviewDefinition; saved: DefinitionDoc | null }> {
    if (req.method === 'POST') return { definition: await unsavedDefinition(ctx.conn, req, launch.courseId), saved: null };
    const id = queryString(req.query.definitionId);
    if (!id) {
      const [first] = await listDefinitions(ctx.conn, launch.courseId);
      if (!first) throw new NotFoundError(t('documents.preview.noDefinition'), { field: 'definitionId' }, { key: 'documents.preview.noDefinition' });
      return { definition: first, saved: first };
    }
    const saved = await getDefinition(ctx.conn, launch.courseId, id);
    return { definition: saved, saved };
  }

  const learnerParam = (req: Request) => queryString(req.method === 'POST' ? req.body?.learner : req.query.learner);

  /** The preview's document for this request: the saved or unsaved settings, sample data or the chosen learner. */
  const requestedPreview = async (req: Request, res: Response) => {
    const launch = launchOf(res);
    const { lang, t } = translatorOf(launch);
    const { definition } = await definitionFrom(req, launch, t);
    return previewDocument(ctx, launch, definition, learnerParam(req), lang, t);
  };

  const previewHtml = async (req: Request, res: Response, next: (err?: unknown) => void) => {
    try {
      sendCertificateHtml(res, await renderCertificateHtml(await requestedPreview(req, res)));
    } catch (err) {
      next(err);
    }
  };

  const previewPdf = async (req: Request, res: Response, next: (err?: unknown) => void) => {
    try {
      const pdf = await ctx.renderer.pdf(await requestedPreview(req, res));
      res.type('application/pdf');
      res.setHeader('Content-Disposition', 'inline; filename="preview.pdf"');
      res.setHeader('Content-Length', String(pdf.length));
      res.send(pdf);
    } catch (err) {
      next(err);
    }
  };

  router.get('/teacher/templates/preview.html', previewHtml);
  router.post('/teacher/templates/preview.html', previewHtml);
  router.get('/teacher/templates/preview.pdf', previewPdf);
  router.post('/teacher/templates/preview.pdf', previewPdf);

  // The preview page prints the PDF once, so that whatever stops a certificate from printing
  // (a text that does not fit, a damaged image) is named here, before any learner claims one.
  router.get('/teacher/templates/preview', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const session = res.locals.session!;
      const { lang, t } = translatorOf(launch);
      const definitions = await listDefinitions(ctx.conn, launch.courseId);
      const learner = learnerParam(req);
      let problem: { message: string; code: string; field?: unknown } | null = null;
      let chosen: DefinitionDoc | null = null;
      let shown: CertificateDocument | null = null;
      try {
        const { saved, definition } = await definitionFrom(req, launch, t);
        chosen = saved;
        shown = await previewDocument(ctx, launch, definition, learner, lang, t);
        await ctx.renderer.pdf(shown);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        problem = { message: userMessage(err, t), code: err.code, field: err.details?.field };
        // No browser on this server: the one command that fixes it, in the teacher's language.
        if (err instanceof RendererUnavailableError && typeof err.details?.command === 'string') {
          problem = { message: t('documents.browser.teacher', { command: err.details.command }), code: err.code };
        }
      }
      const learners = await rosterLearners(ctx.conn, toObjectId(launch.courseId, 'course'), MAX_PREVIEW_LEARNERS);
      // Characters no font of the design has (they would print as boxes): in what is shown, and
      // in the names of the course's other learners, whose certificates will print the same way.
      const glyphs = shown
        ? glyphProblems(shown).map((p) => ({ field: p.field, text: t('documents.glyphs.field', { field: t(`documents.glyphs.fields.${p.field}`), chars: describeMissing(p.missing) }) }))
        : [];
      const glyphLearners = shown
        ? learners
            .map((m) => ({ userId: m.userId, name: resolveLearnerName(m) ?? m.userId }))
            .filter((m) => m.userId !== learner)
            .map((m) => ({ ...m, missing: missingGlyphs(shown!.design, m.name) }))
            .filter((m) => m.missing.length > 0)
            .map((m) => ({ userId: m.userId, text: t('documents.glyphs.learner', { name: m.name, chars: describeMissing(m.missing) }) }))
        : [];
      const query = new URLSearchParams();
      if (chosen) query.set('definitionId', String(chosen._id));
      if (learner) query.set('learner', learner);
      const base = `/app/${session}/teacher/templates/preview`;
      res.status(problem ? 422 : 200).type('html').send(
        ctx.views.render('certificate-preview', {
          title: t('documents.preview.title'),
          lang,
          session,
          launch,
          definitions: definitions.map((d) => ({ id: String(d._id), title: d.title, selected: chosen?._id.equals(d._id) ?? false })),
          learners: learners
            .map((m) => ({ userId: m.userId, name: resolveLearnerName(m) ?? m.userId, selected: m.userId === learner }))
            .sort((a, b) => a.name.localeCompare(b.name)),
          problem,
          glyphs: glyphs.length + glyphLearners.length > 0 ? { fields: glyphs, learners: glyphLearners, learnerCount: glyphLearners.length } : null,
          htmlUrl: `${base}.html?${query}`,
          pdfUrl: `${base}.pdf?${query}`,
          landscape: (chosen?.template.orientation ?? 'landscape') === 'landscape',
          teacherUrl: chosen ? `/app/${session}/teacher/definitions/${String(chosen._id)}` : `/app/${session}/teacher`,
          noDefinitions: definitions.length === 0,
          definitionId: chosen ? String(chosen._id) : null,
          imageLimit: formatBytes(limit),
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  return router;
}
