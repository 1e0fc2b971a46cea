import { expect } from 'chai';
import { useTestDatabase } from '../support/db';
import { lineItemModel } from '../../src/grades/line-item.model';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { listAudit } from '../../src/certificates/audit.service';
import { archiveDefinition, createDefinition, getDefinition, listDefinitions, updateDefinition } from '../../src/certificates/definition.service';
import { parseDefinitionInput } from '../../src/certificates/definition.schema';
import { claimCertificate } from '../../src/certificates/issue.service';
import { findByCode } from '../../src/certificates/certificate.queries';
import { T0, random, seedCourse, buildDefinition, teacher } from '../support/builders';

const base = { title: 'Pass', issuerName: 'University of Rivendell' };

/** The fields a ValidationError names. */
async function fieldsOf(p: Promise<unknown>): Promise<string[]> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'expected a ValidationError').to.be.instanceOf(ValidationError);
  return ((e as ValidationError).details!.fields as Array<{ field: string }>).map((f) => f.field);
}

describe('certificate definitions', () => {
  const db = useTestDatabase();
  const conn = () => db.connection;
  const create = (courseId: unknown, input: unknown, publicAllowed = false) =>
    createDefinition(conn(), { courseId: courseId as string, input, by: teacher, now: T0, publicAllowed });

  describe('createDefinition', () => {
    it('fills in the defaults: all items equally weighted, 80%, all items must be graded, perpetual, private', async () => {
      const course = await seedCourse(conn(), { scores: [[1]] });
      const d = await create(course.courseId, base);
      // "All activities" remembers the activities there were, so that new columns never count silently.
      expect(d).to.deep.include({ title: 'Pass', items: { mode: 'all', known: course.lineItemIds }, thresholdPercent: 80, requireAllGraded: true, mandatoryMinimum: null, public: false, version: 1 });
      expect(d.validity).to.deep.equal({ kind: 'perpetual' });
      expect(d.template).to.deep.include({ design: 'classic', paper: 'A4', orientation: 'landscape', language: 'auto', accentColor: '#1a5fb4', showScore: true });
      const audit = await listAudit(conn(), course.courseId, { action: 'definition_created' });
      expect(audit.entries[0]!.details).to.deep.include({ version: 1 });
      expect(audit.entries[0]!.actor).to.deep.equal(teacher);
    });

    it('allows more than one per course ("Pass" 60%, "Distinction" 90%)', async () => {
      const course = await seedCourse(conn(), { scores: [[1]] });
      await create(course.courseId, { ...base, thresholdPercent: 60 });
      await create(course.courseId, { ...base, title: 'Distinction', thresholdPercent: '90' });
      expect((await listDefinitions(conn(), course.courseId)).map((d) => [d.title, d.thresholdPercent])).to.deep.equal([
        ['Pass', 60],
        ['Distinction', 90],
      ]);
    });

    it('rejects impossible settings, naming the field', async () => {
      const course = await seedCourse(conn(), { scores: [[1, 1, 1]] });
      const [a, b, c] = course.lineItemIds;
      const sel = (items: unknown[]) => ({ ...base, items: { mode: 'selected', items } });
      expect(await fieldsOf(create(course.courseId, { ...base, thresholdPercent: 101 }))).to.deep.equal(['thresholdPercent']);
      expect(await fieldsOf(create(course.courseId, { ...base, thresholdPercent: -1 }))).to.deep.equal(['thresholdPercent']);
      expect(await fieldsOf(create(course.courseId, sel([{ lineItemId: a, weight: -2 }])))).to.deep.equal(['items.items.0.weight']);
      expect(await fieldsOf(create(course.courseId, sel([{ lineItemId: a, weight: 0 }, { lineItemId: b, weight: '0' }])))).to.deep.equal(['items.items.weight']);
      expect(
        await fieldsOf(create(course.courseId, { ...sel([{ lineItemId: a, weight: 1, mandatory: true }, { lineItemId: b, weight: 1, mandatory: true }, { lineItemId: c, weight: 1 }]), mandatoryMinimum: 3 })),
      ).to.deep.equal(['mandatoryMinimum']);
      expect(await fieldsOf(create(course.courseId, { ...base, mandatoryMinimum: 1 }))).to.deep.equal(['mandatoryMinimum']);
      expect(await fieldsOf(create(course.courseId, sel([{ lineItemId: a, weight: 1 }, { lineItemId: '65f000000000000000000000', weight: 1 }])))).to.deep.equal(['items.items.1.lineItemId']);
      expect(await fieldsOf(create(course.courseId, sel([{ lineItemId: a, weight: 1, minimumPercent: 120 }])))).to.deep.equal(['items.items.0.minimumPercent']);
      expect(await fieldsOf(create(course.courseId, { ...base, template: { accentColor: 'red' } }))).to.deep.equal(['template.accentColor']);
      expect(await fieldsOf(create(course.courseId, { ...base, template: { accentColor: '#12345' } }))).to.deep.equal(['template.accentColor']);
      expect(await fieldsOf(create(course.courseId, { ...base, validity: { kind: 'recurring', validForMonths: 0 } }))).to.deep.equal(['validity.validForMonths']);
      expect(await fieldsOf(create(course.courseId, { ...base, title: '  ' }))).to.deep.equal(['title']);
      expect(await fieldsOf(create(course.courseId, sel([{ lineItemId: a, weight: 1 }, { lineItemId: a, weight: 2 }])))).to.deep.equal(['items.items.1.lineItemId']);
      expect(await listDefinitions(conn(), course.courseId)).to.deep.equal([]);
    });

    it('refuses public certificates unless the administrator allows them', async () => {
      const course = await seedCourse(conn(), { scores: [[1]] });
      expect(await fieldsOf(create(course.courseId, { ...base, public: true }, false))).to.deep.equal(['public']);
      expect((await create(course.courseId, { ...base, public: 'on' }, true)).public).to.equal(true);
    });

    it('accepts form values: numbers and checkboxes as strings, weights that do not sum to 1, N of M mandatory', async () => {
      const course = await seedCourse(conn(), { scores: [[1, 1, 1, 1]] });
      const ids = course.lineItemIds;
      const d = await create(course.courseId, {
        ...base,
        thresholdPercent: '72,5',
        requireAllGraded: 'false',
        mandatoryMinimum: '2',
        items: { mode: 'selected', items: ids.map((id, i) => ({ lineItemId: id, weight: String(i + 1), mandatory: 'on', minimumPercent: i === 0 ? '' : '50' })) },
        template: { accentColor: '#AABBCC', showScore: 'off', signatoryName: 'Elrond' },
      });
      expect(d).to.deep.include({ thresholdPercent: 72.5, requireAllGraded: false, mandatoryMinimum: 2 });
      expect(d.items).to.deep.equal({
        mode: 'selected',
        items: ids.map((id, i) => (i === 0 ? { lineItemId: id, weight: 1, mandatory: true, minimumPercent: null } : { lineItemId: id, weight: i + 1, mandatory: true, minimumPercent: 50 })),
      });
      expect(d.template).to.deep.include({ accentColor: '#aabbcc', showScore: false, signatoryName: 'Elrond' });
    });

    it('does not accept a line item that was removed from the LMS', async () => {
      const course = await seedCourse(conn(), { scores: [[1, 1]] });
      await lineItemModel(conn()).updateOne({ _id: course.lineItemIds[1] }, { $set: { removedAt: T0 } });
      const input = { ...base, items: { mode: 'selected', items: [{ lineItemId: course.lineItemIds[1], weight: 1 }] } };
      expect(await fieldsOf(create(course.courseId, input))).to.deep.equal(['items.items.0.lineItemId']);
    });
  });

  describe('updateDefinition', () => {
    it('bumps the version and audits what changed; certificates keep the version they were issued under', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const d = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: d._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const updated = await updateDefinition(conn(), {
        courseId: course.courseId,
        definitionId: d._id,
        input: { title: 'Certificate of Achievement', issuerName: 'University of Rivendell', thresholdPercent: 90 },
        by: teacher,
        now: T0,
        publicAllowed: false,
      });
      expect(updated.version).to.equal(2);
      expect(updated.thresholdPercent).to.equal(90);
      const entry = (await listAudit(conn(), course.courseId, { action: 'definition_changed' })).entries[0]!;
      expect(entry.details).to.deep.equal({ fromVersion: 1, toVersion: 2, changes: { thresholdPercent: { before: 80, after: 90 } } });
      expect((await findByCode(conn(), certificate.code, T0))!.certificate.definitionVersion).to.equal(1);
    });

    it('changes nothing (no new version) when the same settings are saved again', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const d = await buildDefinition(conn(), course.courseId);
      const same = await updateDefinition(conn(), { courseId: course.courseId, definitionId: d._id, input: { title: 'Certificate of Achievement', issuerName: 'University of Rivendell' }, by: teacher, now: T0, publicAllowed: true });
      expect(same.version).to.equal(1);
      expect((await listAudit(conn(), course.courseId, { action: 'definition_changed' })).entries).to.have.length(0);
    });

    it('refuses a form loaded before someone else saved (expectedVersion)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const d = await buildDefinition(conn(), course.courseId);
      const save = (threshold: number) =>
        updateDefinition(conn(), { courseId: course.courseId, definitionId: d._id, input: { ...base, thresholdPercent: threshold }, by: teacher, now: T0, publicAllowed: false, expectedVersion: 1 });
      await save(70);
      expect(await save(75).catch((e: unknown) => e)).to.be.instanceOf(ConflictError);
      expect((await getDefinition(conn(), course.courseId, d._id)).thresholdPercent).to.equal(70);
    });

    it('cannot change another course\'s definition', async () => {
      const a = await seedCourse(conn(), { scores: [[10]] });
      const b = await seedCourse(conn(), { scores: [[10]] });
      const defB = await buildDefinition(conn(), b.courseId);
      const err = await updateDefinition(conn(), { courseId: a.courseId, definitionId: defB._id, input: base, by: teacher, now: T0, publicAllowed: false }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError);
      expect(await archiveDefinition(conn(), { courseId: a.courseId, definitionId: defB._id, by: teacher, now: T0 }).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
      expect((await getDefinition(conn(), b.courseId, defB._id)).title).to.equal('Certificate of Achievement');
    });
  });

  describe('archiveDefinition', () => {
    it('stops new claims but keeps issued certificates verifiable', async () => {
      const course = await seedCourse(conn(), { scores: [[10], [10]] });
      const d = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: d._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      await archiveDefinition(conn(), { courseId: course.courseId, definitionId: d._id, by: teacher, now: T0 });
      expect(await listDefinitions(conn(), course.courseId)).to.deep.equal([]);
      const err = await claimCertificate(conn(), { courseId: course.courseId, definitionId: d._id, learner: { userId: 'user-2', name: 'Rosie' }, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError);
      expect((await findByCode(conn(), certificate.code, T0))!.state).to.equal('active');
      expect((await listAudit(conn(), course.courseId, { action: 'definition_archived' })).entries).to.have.length(1);
    });
  });

  describe('parseDefinitionInput', () => {
    it('lists every bad field at once', () => {
      try {
        parseDefinitionInput({ title: '', issuerName: '', thresholdPercent: 'lots' }, { lineItemIds: new Set(), publicAllowed: false });
        expect.fail('should throw');
      } catch (e) {
        expect(e).to.be.instanceOf(ValidationError);
        expect((e as ValidationError).details!.fields).to.deep.equal([
          { field: 'title', message: 'is required' },
          { field: 'issuerName', message: 'is required' },
          { field: 'thresholdPercent', message: 'must be a number' },
        ]);
        expect((e as ValidationError).details!.field).to.equal('title');
      }
    });
  });
});
