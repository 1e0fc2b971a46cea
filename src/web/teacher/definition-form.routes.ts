/**
 * Creating and changing a certificate definition: the form, its save (a refused form comes
 * back with the teacher's input and the errors beside their fields), and archiving.
 */
import { Router, type Response } from 'express';
import { currentLineItems } from '../../certificates/course-grades';
import type { FieldError } from '../../certificates/definition.schema';
import { archiveDefinition, createDefinition, getDefinition, updateDefinition } from '../../certificates/definition.service';
import { toObjectId } from '../../certificates/ids';
import { ConflictError, ValidationError } from '../../errors';
import type { WebContext } from '../context';
import { launchCourseTitle, renderTeacherPage, teacherPage, type TeacherPage } from '../teacher-page';
import { TEXT_LIMITS } from '../../render/certificate-document';

/**
 * A default the form may propose: a course title longer than the field allows is cut at the last
 * word that fits, with …, so saving never fails on a field the teacher did not touch (issue #15).
 */
export function fitText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
import { queryOf, validateQuery } from '../validate';
import { applyFieldErrors, bodyToForm, definitionFormView, definitionToForm, formToInput, newDefinitionForm, type DefinitionForm, type FormErrorSummary } from './definition-form.view';
import { EditQuery, EmptyQuery } from './schema';

export function definitionFormRoutes(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;
  const lineItemsOf = (p: TeacherPage) => currentLineItems(conn, toObjectId(p.launch.courseId, 'course'));

  function renderForm(res: Response, p: TeacherPage, opts: { form: DefinitionForm; definitionId?: string; summary?: FormErrorSummary[]; conflict?: boolean }, status = 200) {
    renderTeacherPage(ctx.views, res, p, 'teacher-definition-form', definitionFormView(p, { ...opts, publicAllowed: ctx.config.publicCertificates }), status);
  }

  /** Runs a create/update; a refused form comes back with the teacher's input and the errors. */
  async function saveDefinition(res: Response, body: unknown, definitionId?: string): Promise<void> {
    const p = teacherPage(res);
    const lineItems = await lineItemsOf(p);
    if (definitionId) await getDefinition(conn, p.launch.courseId, definitionId); // 404 before anything else
    const form = bodyToForm((body ?? {}) as Record<string, unknown>, lineItems);
    const { input, selectedIds } = formToInput(form);
    const common = { courseId: p.launch.courseId, input, by: p.actor, now: ctx.now(), publicAllowed: ctx.config.publicCertificates, acceptNewColumns: form.acceptNewColumns };
    try {
      if (!definitionId) {
        const created = await createDefinition(conn, common);
        res.redirect(303, `${p.base}/definitions/${created._id}?notice=created`);
        return;
      }
      const expectedVersion = /^\d+$/.test(form.expectedVersion) ? Number(form.expectedVersion) : undefined;
      const before = await getDefinition(conn, p.launch.courseId, definitionId);
      const updated = await updateDefinition(conn, { ...common, definitionId, expectedVersion });
      res.redirect(303, `${p.base}/definitions/${definitionId}?notice=${updated.version === before.version ? 'unchanged' : 'saved'}`);
    } catch (err) {
      if (err instanceof ValidationError) {
        const fields = (err.details?.fields as FieldError[] | undefined) ?? [{ field: String(err.details?.field ?? 'definition'), message: err.message }];
        renderForm(res, p, { form, definitionId, summary: applyFieldErrors(form, fields, selectedIds, p.t) }, 400);
        return;
      }
      if (err instanceof ConflictError && definitionId) {
        renderForm(res, p, { form, definitionId, conflict: true }, 409);
        return;
      }
      throw err;
    }
  }

  router.get('/definitions/new', validateQuery(EmptyQuery), async (_req, res) => {
    const p = teacherPage(res);
    const form = newDefinitionForm(await lineItemsOf(p), { title: p.t('teacher.form.defaultTitle'), issuerName: fitText(launchCourseTitle(p.launch), TEXT_LIMITS.issuerName) });
    renderForm(res, p, { form });
  });

  router.post('/definitions', validateQuery(EmptyQuery), (req, res) => saveDefinition(res, req.body));

  router.get('/definitions/:definitionId/edit', validateQuery(EditQuery), async (req, res) => {
    const p = teacherPage(res);
    // The template pages send the teacher back here with a freshly uploaded image, to be saved.
    const query = queryOf(res, EditQuery);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const form = definitionToForm(definition, await lineItemsOf(p));
    if (query['template.logoFileId'] !== undefined) form.template.logoFileId = query['template.logoFileId'];
    if (query['template.signatureFileId'] !== undefined) form.template.signatureFileId = query['template.signatureFileId'];
    renderForm(res, p, { form, definitionId: String(definition._id) });
  });

  router.post('/definitions/:definitionId', validateQuery(EmptyQuery), (req, res) => saveDefinition(res, req.body, String(req.params.definitionId)));

  router.post('/definitions/:definitionId/archive', async (req, res) => {
    const p = teacherPage(res);
    await archiveDefinition(conn, { courseId: p.launch.courseId, definitionId: String(req.params.definitionId), by: p.actor, now: ctx.now() });
    res.redirect(303, `${p.base}?notice=archived`);
  });

  return router;
}
