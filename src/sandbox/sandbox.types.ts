/**
 * The shapes of the sandbox LMS's world (courses, people, enrolments, line items, results,
 * injected faults and the request log), kept apart from the store that holds them.
 */
import type { QuirkMode, RateLimit } from './quirks';

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

export interface ActiveFault {
  scope: string;
  rule: FaultRule;
  seen: number;
  fired: number;
}
