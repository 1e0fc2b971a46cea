import { expect } from 'chai';
import { Types } from 'mongoose';
import { courseModel, migrateCourseIdentity } from '../../src/courses/course.model';
import { acceptLaunch } from '../../src/lti/launch.service';
import { startTestApp, type TestApp } from '../support/app';
import { buildDefinition } from '../support/builders';
import { HttpBrowser, sessionOf } from '../support/browser';
import { connectTestDatabase } from '../support/db';
import { LTI, registerAttackerPlatform, startAttackerPlatform, type AttackerPlatform } from './support/attacker-platform';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

describe('Tenants under one issuer never meet (course identity = issuer + client id + context id)', function () {
  let t: TestApp;
  let tenantB: AttackerPlatform;
  const clientB = 'tenant-b-client';
  let courseA: { _id: Types.ObjectId; contextId: string; clientId: string; services: unknown };
  let definitionA: string;

  before(async () => {
    t = await startTestApp();
    // Tenant A: the sandbox LMS, a teacher opens the tool in a course with AGS and NRPS.
    const c = t.sandbox.store.createCourse({ title: 'Tenant A course', quirks: 'moodle', learners: 1, items: 1 });
    const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
    expect(page.status, text(page.html).slice(0, 300)).to.equal(200);
    const doc = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, title: 'Tenant A course' }).lean();
    courseA = doc!;
    expect(courseA.clientId).to.equal(t.sandbox.registration.clientId);
    definitionA = String((await buildDefinition(t.db.connection, courseA._id, { title: 'Tenant A certificate' }))._id);
    // Tenant B: another registration (client id, keys of its own) under the SAME issuer, as
    // Canvas Cloud has for every institution; the administrator registered it in good faith.
    tenantB = await startAttackerPlatform({ issuer: t.sandbox.issuer });
    await registerAttackerPlatform(t.app.lti, tenantB, { clientId: clientB, name: 'Tenant B' });
  });
  after(() => tenantB?.close());

  async function launchB(): Promise<{ page: Awaited<ReturnType<AttackerPlatform['launch']>>; session: string }> {
    const page = await tenantB.launch(t.app.toolUrls, {
      clientId: clientB,
      deploymentId: 'b-deployment',
      claims: {
        [LTI.context]: { id: courseA.contextId, title: 'Tenant B course' },
        [LTI.ags]: { scope: ['https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly'], lineitems: tenantB.serviceUrl('/ags/lineitems') },
        [LTI.nrps]: { context_memberships_url: tenantB.serviceUrl('/nrps/memberships'), service_versions: ['2.0'] },
      },
    });
    expect(page.status, text(page.html).slice(0, 300)).to.equal(200);
    return { page, session: sessionOf(page.url) };
  }

  it("gives a launch with the same context id under another client id a course of its own, leaving the first one's services and client id alone", async () => {
    const before = await courseModel(t.db.connection).findById(courseA._id).lean();
    const { page } = await launchB();
    expect(page.url).to.match(/\/teacher$/);
    expect(text(page.html)).to.include('Tenant B course').and.not.include('Tenant A certificate');
    const after = await courseModel(t.db.connection).findById(courseA._id).lean();
    expect(after!.services).to.deep.equal(before!.services);
    expect(after!.clientId).to.equal(t.sandbox.registration.clientId);
    expect(after!.deploymentIds).to.deep.equal(before!.deploymentIds);
    const courses = await courseModel(t.db.connection).find({ issuer: t.sandbox.issuer, contextId: courseA.contextId }).lean();
    expect(courses.map((c) => c.clientId)).to.have.members([t.sandbox.registration.clientId, clientB]);
    const b = courses.find((c) => c.clientId === clientB)!;
    expect(b.services.lineItemsUrl).to.equal(tenantB.serviceUrl('/ags/lineitems'));
  });

  it("cannot open the first tenant's certificate pages (404), nor delete its certificates", async () => {
    const { session } = await launchB();
    const b = new HttpBrowser();
    for (const path of ['', '/edit', '/delete-all', '/generate']) {
      const res = await b.request(`${t.baseUrl}/app/${session}/teacher/definitions/${definitionA}${path}`);
      expect(res.status, path).to.equal(404);
    }
    const post = await b.request(`${t.baseUrl}/app/${session}/teacher/definitions/${definitionA}/delete-all`, { form: { reason: 'takeover' }, headers: { origin: t.baseUrl } });
    expect(post.status).to.equal(404);
    expect(await t.db.connection.collection('certificate_audit').countDocuments({ courseId: courseA._id, action: 'certificates_revoked_all' })).to.equal(0);
  });

  it('keeps a Chamilo course one course when its tool copies carry different deployment ids (same client)', async () => {
    const chamilo = await startAttackerPlatform();
    try {
      await registerAttackerPlatform(t.app.lti, chamilo, { clientId: 'chamilo-client' });
      const ctx = { [LTI.context]: { id: 'chamilo-42', title: 'Chamilo course' } };
      const first = await chamilo.launch(t.app.toolUrls, { clientId: 'chamilo-client', deploymentId: '7', claims: ctx });
      const second = await chamilo.launch(t.app.toolUrls, { clientId: 'chamilo-client', deploymentId: '9', claims: ctx });
      expect([first.status, second.status]).to.deep.equal([200, 200]);
      const courses = await courseModel(t.db.connection).find({ issuer: chamilo.issuer, contextId: 'chamilo-42' }).lean();
      expect(courses).to.have.length(1);
      expect(courses[0]!.deploymentIds).to.have.members(['7', '9']);
    } finally {
      await chamilo.close();
    }
  });
});

describe('migrateCourseIdentity: databases from before tenants were told apart', function () {
  it('replaces the issuer + context index, and old courses keep working', async () => {
    const db = await connectTestDatabase();
    try {
      const conn = db.connection;
      // The database as the previous version left it: the old unique index and one course.
      await conn.collection('courses').createIndex({ issuer: 1, contextId: 1 }, { unique: true, name: 'issuer_1_contextId_1' });
      const oldId = new Types.ObjectId();
      await conn.collection('courses').insertOne({
        _id: oldId,
        issuer: 'https://lms.example',
        clientId: 'client-1',
        deploymentIds: ['1'],
        contextId: 'ctx-old',
        title: 'Old course',
        platformFamily: 'moodle',
        services: { agsScopes: [] },
        settings: { autoReissue: false },
      });
      await migrateCourseIdentity(conn);
      await migrateCourseIdentity(conn); // idempotent: every start runs it
      const names = (await conn.collection('courses').indexes()).map((i) => i.name);
      expect(names).to.include('issuer_1_clientId_1_contextId_1').and.not.include('issuer_1_contextId_1');

      const claims = (clientId: string) => ({
        iss: 'https://lms.example',
        aud: clientId,
        sub: 'teacher-1',
        [LTI.messageType]: 'LtiResourceLinkRequest',
        [LTI.deploymentId]: '1',
        [LTI.roles]: [LTI.instructor],
        [LTI.context]: { id: 'ctx-old', title: 'Old course' },
      });
      const deps = { conn, now: () => new Date(), unknownDeployment: 'accept' as const };
      const same = await acceptLaunch(deps, claims('client-1'), { clientId: 'client-1' });
      expect(same.ok && same.launch.courseId).to.equal(String(oldId));
      const other = await acceptLaunch(deps, claims('client-2'), { clientId: 'client-2' });
      expect(other.ok && other.launch.courseId).to.be.a('string').and.not.equal(String(oldId));
      expect(await conn.collection('courses').countDocuments({ contextId: 'ctx-old' })).to.equal(2);
    } finally {
      await db.close();
    }
  });
});
