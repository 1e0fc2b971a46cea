/**
 * The sandbox LMS's world: courses, people, enrolments, line items and results, all in memory.
 * Synchronous and deterministic (ids are counters, derived ids are hashes of them) so tests can
 * name things in advance. The HTTP layer (`sandbox.ts`) reads and writes only through this class.
 */
import { ALL_SERVICE_SCOPES, ROLE } from './lti-vocabulary';
import { QUIRKS, type QuirkMode, type RateLimit } from './quirks';
import { asciiSlug, canvasIds, FAMILY_NAMES, GIVEN_NAMES, hashHex, lastSegment } from './sandbox-ids';
import type { ActiveFault, CreateCourseOptions, CreatedCourse, FaultRule, FaultStatus, GradeItemModule, MemberStatus, RequestLogEntry, SandboxCourse, SandboxLineItem, SandboxMember, SandboxMembership, SandboxResourceLink, SandboxResult, SandboxUser } from './sandbox.types';

export type { CreateCourseOptions, CreatedCourse, FaultRule, FaultStatus, GradeItemModule, MemberStatus, RequestLogEntry, SandboxCourse, SandboxLineItem, SandboxMember, SandboxMembership, SandboxResourceLink, SandboxResult, SandboxUser } from './sandbox.types';

const REQUEST_LOG_CAP = 50_000;

/** The in-memory state of the sandbox platform. */
export class SandboxStore {
  /** Every request the router saw (newest last; capped at 50,000 entries). */
  readonly requestLog: RequestLogEntry[] = [];

  private readonly courses = new Map<string, SandboxCourse>();
  private readonly users = new Map<string, SandboxUser>();
  private readonly usersByLtiId = new Map<string, SandboxUser>();
  private readonly members = new Map<string, Map<string, SandboxMembership>>();
  private readonly lineItems = new Map<string, Map<string, SandboxLineItem>>();
  private readonly results = new Map<string, Map<string, SandboxResult>>();
  private readonly faults: ActiveFault[] = [];
  // Counters start where a fresh Moodle's would: course 1 is the site, users 1-2 are guest and admin.
  private nextCourseId = 2;
  private nextUserId = 101;
  private nextLineItemId = 1;
  private nextResourceLinkId = 1;

  constructor(private readonly now: () => Date = () => new Date()) {}

  // ---- courses -------------------------------------------------------------------------------

  /** Adds an empty course with one resource link ("Certificates"), where the tool is placed. */
  addCourse(input: { title: string; quirks: QuirkMode; label?: string; permittedScopes?: string[] }): SandboxCourse {
    const id = String(this.nextCourseId++);
    const course: SandboxCourse = {
      id,
      title: input.title,
      label: input.label ?? `COURSE-${id}`,
      quirks: input.quirks,
      opaqueContextId: hashHex('sha1', `sandbox-context-${id}`),
      sourcedId: `course-${id}`,
      permittedScopes: [...(input.permittedScopes ?? ALL_SERVICE_SCOPES)],
      resourceLinks: [],
      gradebookOpened: input.quirks !== 'chamilo',
    };
    this.courses.set(id, course);
    this.members.set(id, new Map());
    this.lineItems.set(id, new Map());
    this.addResourceLink(id, { title: 'Certificates' });
    return course;
  }

  /**
   * Builds a whole course in one call: teachers, learners, line items and scores. Fast enough for
   * 5,000 learners × 20 items (100,000 results) in a few tens of milliseconds.
   */
  createCourse(opts: CreateCourseOptions): CreatedCourse {
    const course = this.addCourse({ title: opts.title, quirks: opts.quirks, label: opts.label, permittedScopes: opts.permittedScopes });
    const teacherIds: string[] = [];
    for (let t = 0; t < (opts.teachers ?? 1); t++) {
      const teacher = this.addUser({ givenName: 'Teacher', familyName: `${course.id}-${t + 1}` });
      this.enrol(course.id, teacher.id, [ROLE.instructor]);
      teacherIds.push(teacher.id);
    }
    const learnerIds: string[] = [];
    const learnerCount = opts.learners ?? 10;
    for (let l = 0; l < learnerCount; l++) {
      const given = GIVEN_NAMES[l % GIVEN_NAMES.length];
      const family = FAMILY_NAMES[Math.floor(l / GIVEN_NAMES.length) % FAMILY_NAMES.length];
      const round = Math.floor(l / (GIVEN_NAMES.length * FAMILY_NAMES.length));
      const learner = this.addUser({ givenName: given, familyName: round === 0 ? family : `${family} ${round + 1}` });
      this.enrol(course.id, learner.id, [ROLE.learner]);
      learnerIds.push(learner.id);
    }
    const score = opts.score ?? ((l: number, i: number) => ((l + i) % 13 === 0 ? null : (l * 7 + i * 3) % 11));
    const timestamp = this.now().toISOString();
    const lineItemIds: string[] = [];
    const module = opts.itemModule ?? 'lti';
    for (let i = 0; i < (opts.items ?? 10); i++) {
      const link = module === 'lti' ? this.addResourceLink(course.id, { title: `Activity ${i + 1}` }) : undefined;
      const item = this.addLineItem(course.id, {
        label: `Activity ${i + 1}`,
        scoreMaximum: opts.scoreMaximum ?? 10,
        module,
        resourceLinkId: link?.id,
        tag: 'activity',
        resourceId: `activity-${i + 1}`,
      });
      lineItemIds.push(item.id);
      const byUser = this.results.get(item.id)!;
      for (let l = 0; l < learnerCount; l++) {
        const given = score(l, i);
        if (given === null) continue;
        byUser.set(learnerIds[l], { lineItemId: item.id, userId: learnerIds[l], scoreGiven: given, scoreMaximum: item.scoreMaximum, timestamp });
      }
    }
    return { course, teacherIds, learnerIds, lineItemIds };
  }

  getCourse(courseId: string): SandboxCourse | undefined {
    return this.courses.get(courseId);
  }

  listCourses(): SandboxCourse[] {
    return [...this.courses.values()];
  }

  setQuirks(courseId: string, mode: QuirkMode): void {
    this.requireCourse(courseId).quirks = mode;
  }

  setPermittedScopes(courseId: string, scopes: string[]): void {
    this.requireCourse(courseId).permittedScopes = [...scopes];
  }

  /** Sets the throttling of a course: null switches it off, undefined restores the mode's default. */
  setRateLimit(courseId: string, limit: RateLimit | null | undefined): void {
    this.requireCourse(courseId).rateLimit = limit;
  }

  /** The throttling in force for a course (its own, else its quirk mode's default). */
  effectiveRateLimit(courseId: string): RateLimit | undefined {
    const course = this.requireCourse(courseId);
    if (course.rateLimit === null) return undefined;
    return course.rateLimit ?? QUIRKS[course.quirks].defaultRateLimit;
  }

  /** Makes launches from this course carry another deployment id (e.g. one the tool does not know). */
  setDeploymentId(courseId: string, deploymentId: string | undefined): void {
    this.requireCourse(courseId).deploymentId = deploymentId;
  }

  addResourceLink(courseId: string, input: { title: string; url?: string; custom?: Record<string, string> }): SandboxResourceLink {
    const link: SandboxResourceLink = { id: String(this.nextResourceLinkId++), title: input.title, url: input.url, custom: { ...(input.custom ?? {}) } };
    this.requireCourse(courseId).resourceLinks.push(link);
    return link;
  }

  /** The context id as the course's platform sends it: numeric, or an opaque hash in Canvas mode. */
  contextIdOf(course: SandboxCourse): string {
    return QUIRKS[course.quirks].canvasIdentity ? course.opaqueContextId : course.id;
  }

  // ---- people --------------------------------------------------------------------------------

  addUser(input: { givenName: string; familyName: string; email?: string; locale?: string; sourcedId?: string; username?: string }): SandboxUser {
    const id = String(this.nextUserId++);
    const name = `${input.givenName} ${input.familyName}`.trim();
    const user: SandboxUser = {
      id,
      ...canvasIds(id),
      givenName: input.givenName,
      familyName: input.familyName,
      name,
      email: input.email ?? `${asciiSlug(name)}.${id}@example.org`,
      locale: input.locale ?? 'en-GB',
      sourcedId: input.sourcedId ?? `S${id.padStart(6, '0')}`,
      username: input.username ?? `${asciiSlug(name)}${id}`,
    };
    this.users.set(id, user);
    this.usersByLtiId.set(user.ltiId, user);
    return user;
  }

  /** A user by numeric id or by Canvas lti id (UUID). */
  getUser(idOrLtiId: string): SandboxUser | undefined {
    return this.users.get(idOrLtiId) ?? this.usersByLtiId.get(idOrLtiId);
  }

  /** The first user whose full name (or, failing that, given name) equals `name`. */
  findUserByName(name: string): SandboxUser | undefined {
    for (const user of this.users.values()) if (user.name === name) return user;
    for (const user of this.users.values()) if (user.givenName === name) return user;
    return undefined;
  }

  /** The `sub` of a user in a course's quirk mode (UUID in Canvas, numeric id elsewhere). */
  subjectOf(course: SandboxCourse, user: SandboxUser): string {
    return QUIRKS[course.quirks].canvasIdentity ? user.ltiId : user.id;
  }

  enrol(courseId: string, userId: string, roles: string[], status: MemberStatus = 'Active'): void {
    this.requireCourse(courseId);
    const user = this.requireUser(userId);
    this.members.get(courseId)!.set(user.id, { userId: user.id, roles: [...roles], status });
  }

  /** Unenrols someone: they vanish from NRPS and can no longer launch, as in a real LMS. Their results stay. */
  removeMember(courseId: string, userId: string): void {
    this.requireCourse(courseId);
    this.members.get(courseId)!.delete(this.requireUser(userId).id);
  }

  setMemberStatus(courseId: string, userId: string, status: MemberStatus): void {
    const membership = this.getMembership(courseId, userId);
    if (!membership) throw new Error(`User ${userId} is not a member of course ${courseId}`);
    membership.status = status;
  }

  getMembership(courseId: string, userId: string): SandboxMembership | undefined {
    const user = this.getUser(userId);
    return user ? this.members.get(courseId)?.get(user.id) : undefined;
  }

  /** Members in enrolment order; `role` keeps those holding that exact role URI or short name. */
  listMembers(courseId: string, opts: { role?: string } = {}): SandboxMember[] {
    this.requireCourse(courseId);
    const out: SandboxMember[] = [];
    for (const membership of this.members.get(courseId)!.values()) {
      if (opts.role && !membership.roles.includes(opts.role)) continue;
      out.push({ ...this.users.get(membership.userId)!, roles: [...membership.roles], status: membership.status });
    }
    return out;
  }

  // ---- line items and results ----------------------------------------------------------------

  addLineItem(courseId: string, input: Omit<SandboxLineItem, 'id' | 'courseId' | 'module'> & { module?: GradeItemModule }): SandboxLineItem {
    this.requireCourse(courseId);
    const module = input.module ?? (input.resourceLinkId !== undefined ? 'lti' : 'manual');
    const item: SandboxLineItem = { ...input, module, id: String(this.nextLineItemId++), courseId };
    this.lineItems.get(courseId)!.set(item.id, item);
    this.results.set(item.id, new Map());
    return item;
  }

  getLineItem(courseId: string, lineItemId: string): SandboxLineItem | undefined {
    return this.lineItems.get(courseId)?.get(lastSegment(lineItemId));
  }

  listLineItems(courseId: string): SandboxLineItem[] {
    this.requireCourse(courseId);
    return [...this.lineItems.get(courseId)!.values()];
  }

  setPlacedByDeepLinking(courseId: string, on: boolean): void {
    this.requireCourse(courseId).placedByDeepLinking = on;
  }

  /** A teacher opens the course gradebook (Chamilo creates its gradebook then). */
  openGradebook(courseId: string): void {
    this.requireCourse(courseId).gradebookOpened = true;
  }

  /**
   * Moodle: the teacher ticks (true) or unticks (false) "Allow <tool> to add grades in the
   * gradebook" on a resource link. Ticking gives the link a column (an `lti` item the tool sees
   * over AGS); unticking removes the column and leaves Moodle sending `"lineitem": ""`.
   */
  setLinkGrades(courseId: string, linkId: string, on: boolean, scoreMaximum = 100): SandboxLineItem | undefined {
    const course = this.requireCourse(courseId);
    const link = course.resourceLinks.find((l) => l.id === linkId);
    if (!link) throw new Error(`No resource link ${linkId} in sandbox course ${courseId}`);
    const existing = this.listLineItems(courseId).filter((i) => i.resourceLinkId === linkId && i.module === 'lti' && i.clientId === undefined);
    if (on) {
      link.gradesUnticked = false;
      return existing[0] ?? this.addLineItem(courseId, { label: link.title, scoreMaximum, module: 'lti', resourceLinkId: linkId });
    }
    for (const item of existing) this.deleteLineItem(courseId, item.id);
    link.gradesUnticked = existing.length > 0 || link.gradesUnticked === true;
    return undefined;
  }

  updateLineItem(courseId: string, lineItemId: string, patch: Partial<Omit<SandboxLineItem, 'id' | 'courseId'>>): SandboxLineItem {
    const item = this.requireLineItem(courseId, lineItemId);
    Object.assign(item, patch);
    return item;
  }

  deleteLineItem(courseId: string, lineItemId: string): void {
    const item = this.requireLineItem(courseId, lineItemId);
    this.lineItems.get(courseId)!.delete(item.id);
    this.results.delete(item.id);
  }

  /**
   * Sets (or with null, clears) a user's score on a line item, the way a teacher edits the
   * gradebook. `scoreGiven` is on the line item's scale unless `scoreMaximum` says otherwise.
   */
  setScore(
    courseId: string,
    lineItemId: string,
    userId: string,
    scoreGiven: number | null,
    extra: { scoreMaximum?: number; comment?: string; timestamp?: string } = {},
  ): SandboxResult | undefined {
    const item = this.requireLineItem(courseId, lineItemId);
    const user = this.requireUser(userId);
    const byUser = this.results.get(item.id)!;
    if (scoreGiven === null) {
      byUser.delete(user.id);
      return undefined;
    }
    const result: SandboxResult = {
      lineItemId: item.id,
      userId: user.id,
      scoreGiven,
      scoreMaximum: extra.scoreMaximum ?? item.scoreMaximum,
      timestamp: extra.timestamp ?? this.now().toISOString(),
      comment: extra.comment,
    };
    byUser.set(user.id, result);
    return result;
  }

  getResult(courseId: string, lineItemId: string, userId: string): SandboxResult | undefined {
    const item = this.getLineItem(courseId, lineItemId);
    const user = this.getUser(userId);
    return item && user ? this.results.get(item.id)?.get(user.id) : undefined;
  }

  /** Graded results of a line item (ungraded people have none), in the order they were set. */
  listResults(courseId: string, lineItemId: string): SandboxResult[] {
    const item = this.requireLineItem(courseId, lineItemId);
    return [...this.results.get(item.id)!.values()];
  }

  /**
   * The course grade as the demo tells it: every column weighs the same, ungraded counts as 0.
   * The column of the tool's own placement (Chamilo's "Certificates" evaluation) is left out.
   */
  courseGrade(courseId: string, userId: string): { earned: number; possible: number; percent: number } {
    let earned = 0;
    let possible = 0;
    const placement = this.requireCourse(courseId).resourceLinks[0]?.id;
    for (const item of this.listLineItems(courseId)) {
      if (item.module === 'lti' && item.resourceLinkId === placement) continue;
      possible += item.scoreMaximum;
      const result = this.getResult(courseId, item.id, userId);
      if (result) earned += (result.scoreGiven / result.scoreMaximum) * item.scoreMaximum;
    }
    return { earned, possible, percent: possible === 0 ? 0 : Math.round((earned / possible) * 10000) / 100 };
  }

  // ---- faults and the request log -------------------------------------------------------------

  /**
   * Makes requests fail on purpose. `courseId` limits the rule to `/api/courses/:courseId/...`;
   * `'*'` applies it to every request of the router (the token endpoint included).
   */
  injectFaults(courseId: string, rule: FaultRule): void {
    this.faults.push({ scope: courseId, rule: { ...rule }, seen: 0, fired: 0 });
  }

  /** Removes the fault rules of one course (or `'*'`), or all of them. */
  clearFaults(courseId?: string): void {
    for (let i = this.faults.length - 1; i >= 0; i--) if (courseId === undefined || this.faults[i].scope === courseId) this.faults.splice(i, 1);
  }

  /** Called by the router for each request: the fault to play, if a rule says so. */
  takeFault(courseId: string | undefined, url: string): FaultStatus | undefined {
    for (const fault of this.faults) {
      if (fault.scope !== '*' && fault.scope !== courseId) continue;
      if (fault.rule.path) {
        fault.rule.path.lastIndex = 0;
        if (!fault.rule.path.test(url)) continue;
      }
      if (fault.fired >= fault.rule.times) continue;
      fault.seen++;
      if (fault.seen > (fault.rule.afterRequests ?? 0)) {
        fault.fired++;
        return fault.rule.status;
      }
    }
    return undefined;
  }

  logRequest(entry: RequestLogEntry): void {
    this.requestLog.push(entry);
    if (this.requestLog.length > REQUEST_LOG_CAP) this.requestLog.splice(0, this.requestLog.length - REQUEST_LOG_CAP);
  }

  clearRequestLog(): void {
    this.requestLog.length = 0;
  }

  // ---- helpers -------------------------------------------------------------------------------

  requireCourse(courseId: string): SandboxCourse {
    const course = this.courses.get(courseId);
    if (!course) throw new Error(`No sandbox course ${courseId}`);
    return course;
  }

  requireUser(userId: string): SandboxUser {
    const user = this.getUser(userId);
    if (!user) throw new Error(`No sandbox user ${userId}`);
    return user;
  }

  requireLineItem(courseId: string, lineItemId: string): SandboxLineItem {
    const item = this.getLineItem(courseId, lineItemId);
    if (!item) throw new Error(`No line item ${lineItemId} in sandbox course ${courseId}`);
    return item;
  }
}
