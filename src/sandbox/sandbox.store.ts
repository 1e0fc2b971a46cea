/**
 * The sandbox LMS's world: courses, people, enrolments, line items and results, all in memory.
 * Synchronous and deterministic (ids are counters, derived ids are hashes of them) so tests can
 * name things in advance. The HTTP layer (`sandbox.ts`) reads and writes only through this class.
 */
import { createHash } from 'node:crypto';
import { ALL_SERVICE_SCOPES, ROLE } from './lti-vocabulary';
import { QUIRKS, type QuirkMode, type RateLimit } from './quirks';

export type MemberStatus = 'Active' | 'Inactive';

export interface SandboxUser {
  /** The platform's own numeric user id: `sub` in Moodle, Chamilo and standard mode; `canvas_user_id` in Canvas. */
  readonly id: string;
  /** Canvas's `lti_id` (a UUID): the `sub` in Canvas mode. */
  readonly ltiId: string;
  /** Canvas's `lti11_legacy_user_id` (an opaque hash). */
  readonly legacyId: string;
  givenName: string;
  familyName: string;
  name: string;
  email: string;
  /** BCP-47 locale sent in launch_presentation.locale, e.g. `nl-NL`. */
  locale: string;
  /** `lis_person_sourcedid` (the institution's id number; Moodle's "ID number"). */
  sourcedId: string;
  /** Login name (Moodle/Chamilo `username`; Canvas's SIS login id): `$User.username` in custom parameters. */
  username: string;
}

export interface SandboxMembership {
  userId: string;
  /** Role URIs (or short names) exactly as the platform sends them in the id_token and NRPS. */
  roles: string[];
  status: MemberStatus;
}

/** A person as listed in a course: the user plus their enrolment. */
export interface SandboxMember extends SandboxUser {
  roles: string[];
  status: MemberStatus;
}

export interface SandboxResourceLink {
  id: string;
  title: string;
  /**
   * Moodle only: the teacher unticked "Allow <tool> to add grades in the gradebook" after it had
   * been ticked. Moodle then keeps sending the AGS claim with `"lineitem": ""` on every launch of
   * this link (observed on 4.5.6, platforms.md §6).
   */
  gradesUnticked?: boolean;
  /** Launch URL chosen through deep linking; absent = the tool's launch URL. */
  url?: string;
  custom: Record<string, string>;
}

/**
 * What a gradebook column is, in Moodle's words (grade_items.itemtype/itemmodule): `lti` an
 * activity of the LTI tool (tied to one of its resource links), `quiz`/`assign` the course's own
 * activities, `manual` a column a teacher (or, with `clientId`, the tool over AGS) added.
 */
export type GradeItemModule = 'lti' | 'quiz' | 'assign' | 'manual';

/**
 * A column of the course gradebook. Only some are line items the tool sees over AGS (see
 * `visibleTo` in context.ts): those it created and those of its own resource links.
 */
export interface SandboxLineItem {
  /** Short id (the last path segment of the line item URL). Unique across courses. */
  readonly id: string;
  readonly courseId: string;
  label: string;
  scoreMaximum: number;
  /** Default: `lti` when tied to a resource link, else `manual`. */
  module: GradeItemModule;
  /** Hidden from learners in the gradebook. */
  hidden?: boolean;
  /** The teacher's "ID number" of the grade item (Moodle `idnumber`). */
  idnumber?: string;
  /** Weight in the course total (Chamilo's evaluation weight); absent = equal shares. */
  weight?: number;
  resourceLinkId?: string;
  tag?: string;
  resourceId?: string;
  startDateTime?: string;
  endDateTime?: string;
  /**
   * The client (tool registration) that created the item. AGS shows a client only items it
   * created or that are tied to the tool without owner (undefined), like Moodle and Canvas do.
   */
  clientId?: string;
}

export interface SandboxResult {
  lineItemId: string;
  userId: string;
  /** As posted; results are reported scaled to the line item's scoreMaximum, as Moodle does. */
  scoreGiven: number;
  scoreMaximum: number;
  /** ISO date of the score. */
  timestamp: string;
  comment?: string;
}

export interface SandboxCourse {
  /** Numeric string; the course id in every sandbox URL (`/courses/:id`, `/api/courses/:id/...`). */
  readonly id: string;
  title: string;
  /** Short name (Moodle shortname, Chamilo course code); the context label. */
  label: string;
  quirks: QuirkMode;
  /** Canvas's opaque context id (a hash), used as context.id in Canvas mode. */
  readonly opaqueContextId: string;
  /** `lis.course_offering_sourcedid`. */
  sourcedId: string;
  /** AGS/NRPS scopes this course lets tools use (Moodle's gradesync/memberships settings). */
  permittedScopes: string[];
  /** Throttling; undefined = the quirk mode's default (Canvas: 20 requests per second per token). */
  rateLimit?: RateLimit | null;
  /** Overrides the registration's deployment id for launches from this course. */
  deploymentId?: string;
  resourceLinks: SandboxResourceLink[];
  /**
   * Whether a teacher has opened the course gradebook once. Chamilo creates the course's gradebook
   * category only then, and answers 500 to a line item created over AGS before (observed on
   * 1.11.28, platforms.md §6; plugin/ims_lti LtiLineItemsResource.php needs the category).
   */
  gradebookOpened: boolean;
  /**
   * Chamilo: the teacher placed the tool through deep linking (as older guides recommended). The
   * copy Chamilo creates has no course: its AGS endpoints answer 500 and NRPS 400 (observed on
   * 1.11.28). `setPlacedByDeepLinking` switches it.
   */
  placedByDeepLinking?: boolean;
}

export interface CreateCourseOptions {
  title: string;
  quirks: QuirkMode;
  label?: string;
  /** Number of learners to create and enrol (default 10). */
  learners?: number;
  /** Number of gradebook columns "Activity 1".."Activity n" (default 10). */
  items?: number;
  /**
   * What those columns are (default `lti`: each an activity of the tool, with its own resource
   * link, so every platform lists it over AGS; `quiz`/`assign`: the course's own activities, which
   * reach the tool only through the gradebook export and Moodle web services).
   */
  itemModule?: GradeItemModule;
  /** scoreMaximum of each created line item (default 10). */
  scoreMaximum?: number;
  /** Score of learner i on item j (both from 0); null = ungraded. Default: a deterministic spread. */
  score?: (learnerIndex: number, itemIndex: number) => number | null;
  /** Number of Instructors to create and enrol (default 1). */
  teachers?: number;
  permittedScopes?: string[];
}

export interface CreatedCourse {
  course: SandboxCourse;
  teacherIds: string[];
  learnerIds: string[];
  lineItemIds: string[];
}

export type FaultStatus = 500 | 502 | 503 | 'timeout' | 'reset';

export interface FaultRule {
  /** Tested against the router-relative URL, query included (e.g. `/api/courses/2/memberships?limit=10&from=10`). */
  path?: RegExp;
  status: FaultStatus;
  /** How many matching requests fail. */
  times: number;
  /** How many matching requests succeed before the first failure (default 0). */
  afterRequests?: number;
}

export interface RequestLogEntry {
  method: string;
  /** Router-relative path without query, e.g. `/api/courses/2/lineitems`. */
  path: string;
  query: Record<string, unknown>;
  /** HTTP status; 0 when the connection was reset or left hanging. */
  status: number;
  /** Course of an `/api/courses/:id` request. */
  courseId?: string;
  at: string;
}

interface ActiveFault {
  scope: string;
  rule: FaultRule;
  seen: number;
  fired: number;
}

const REQUEST_LOG_CAP = 50_000;
const GIVEN_NAMES = ['Ada', 'Bram', 'Chloé', 'Daan', 'Emma', 'Finn', 'Grace', 'Hugo', 'Iris', 'Jonas', 'Kaja', 'Lars', 'Mila', 'Noah', 'Olga', 'Pim', 'Quinn', 'Ruth', 'Sem', 'Tess'];
const FAMILY_NAMES = ['Jansen', 'de Vries', 'Smith', 'Müller', 'Okafor', 'Nakamura', 'Rossi', 'García', 'Kowalski', 'Berg', 'Dubois', 'Novak', 'Silva', 'Larsen', 'Hughes', 'Yilmaz', 'Khan', 'Olsen', 'Costa', 'Moreau'];

function hashHex(algorithm: 'sha1' | 'sha256', text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

/**
 * Canvas-style ids derived from one hash of the user id, so they are stable across restarts:
 * a UUID-shaped `lti_id` and a 40-hex legacy id (one hash per user keeps 5,000-learner courses fast).
 */
function canvasIds(userId: string): { ltiId: string; legacyId: string } {
  const h = hashHex('sha256', `sandbox-user-${userId}`);
  const ltiId = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return { ltiId, legacyId: h.slice(24, 64) };
}

function asciiSlug(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.|\.$/g, '');
}

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

/** Accepts either a short id or a full line item URL. */
function lastSegment(idOrUrl: string): string {
  const trimmed = idOrUrl.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
}
