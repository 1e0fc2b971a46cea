/**
 * How each imitated platform behaves, in one table. Every quirk here is taken from
 * `research/platforms.md` (the platforms' own source, or a running instance); the sandbox
 * switches behaviour by reading this table, never by scattering `if (mode === ...)` around.
 */
import { SCOPE } from './lti-vocabulary';

export type QuirkMode = 'moodle' | 'canvas' | 'chamilo' | 'standard';
export const QUIRK_MODES: readonly QuirkMode[] = ['moodle', 'canvas', 'chamilo', 'standard'];

/** A per-token request budget (Canvas throttling). */
export interface RateLimit {
  /** Requests allowed per token in any sliding window of one second. */
  requestsPerSecond: number;
  /** Value sent in `X-Request-Cost` (Canvas reports a float cost per request). */
  requestCost?: number;
}

export interface QuirkProfile {
  productFamilyCode: 'moodle' | 'canvas' | 'chamilo' | 'sandbox';
  platformName: string;
  platformVersion: string;
  /** id_token lifetime: Moodle (observed) and Chamilo use 60 s. */
  idTokenLifetimeSeconds: number;
  /** Chamilo leaves `lti_deployment_id` out of the login initiation. */
  sendsDeploymentIdInLogin: boolean;
  /** Chamilo sends the NRPS claim only when the user may edit the course (teachers). */
  nrpsClaimOnlyForTeachers: boolean;
  /** Chamilo's AGS claim lists only these scopes, although its token endpoint grants more. */
  agsClaimScopes?: readonly string[];
  /** Moodle writes `rel=“next”` with typographic quotes on AGS (not on NRPS). */
  agsTypographicQuotes: boolean;
  /** Page size when the tool sends no `limit` (undefined: everything in one answer). */
  defaultPageSize?: number;
  /** Largest page the platform will return whatever the tool asks. */
  maxPageSize?: number;
  /**
   * NRPS's own page size when the tool sends no `limit` (else `defaultPageSize`). Canvas pages
   * memberships by 50 and never more (app/controllers/lti/ims/providers/memberships_provider.rb
   * `MAX_PAGE_SIZE = 50`, `default_per_page: MAX_PAGE_SIZE`).
   */
  nrpsDefaultPageSize?: number;
  /** Moodle and the standard mode page with `from` (an offset); Canvas and Chamilo with `page`. */
  pagingParam: 'from' | 'page';
  /** Canvas sends current/next/first/last relations in one Link header. */
  fullLinkRelations: boolean;
  /** Chamilo compares the Accept header (and the score Content-Type) for equality. */
  exactMediaTypes: boolean;
  /** Moodle and Canvas list only active enrolments in NRPS; inactive people disappear. */
  nrpsOmitsInactive: boolean;
  /** Canvas: opaque context ids, UUID subs, legacy ids, institution roles, canvas_* custom fields. */
  canvasIdentity: boolean;
  /** Canvas answers 400 to a score older than the stored result; others ignore it silently. */
  rejectsStaleScores: boolean;
  /** Canvas answers a score POST with 200 `{resultUrl}`; the others with 204. */
  scoreAnswersResultUrl: boolean;
  /**
   * How `launch_presentation.locale` is written (src/sandbox/platform-locale.ts): Moodle's language
   * pack code ("nl", "es_mx"), Chamilo's ISO code ("nl", "pt-BR"), or the BCP 47 tag as stored.
   * Moodle and Chamilo also leave out the top-level `locale` claim (observed on 4.5.6 and 1.11.28).
   */
  launchLocale: 'moodle' | 'chamilo' | 'bcp47';
  /**
   * Chamilo 1.11 sends no `launch_presentation.return_url` (plugin/ims_lti/auth.php has it
   * commented out; a real 1.11.28 sent `{"locale":"en","document_target":"iframe"}`): the tool
   * finds its course page from the context label instead (src/courses/course-link.ts).
   */
  sendsReturnUrl: boolean;
  defaultRateLimit?: RateLimit;
}

export const QUIRKS: Record<QuirkMode, QuirkProfile> = {
  moodle: {
    productFamilyCode: 'moodle',
    platformName: 'Sandbox Moodle',
    platformVersion: '2024100700',
    idTokenLifetimeSeconds: 60,
    sendsDeploymentIdInLogin: true,
    nrpsClaimOnlyForTeachers: false,
    agsTypographicQuotes: true,
    pagingParam: 'from',
    fullLinkRelations: false,
    exactMediaTypes: false,
    nrpsOmitsInactive: true,
    canvasIdentity: false,
    rejectsStaleScores: false,
    scoreAnswersResultUrl: false,
    launchLocale: 'moodle',
    sendsReturnUrl: true,
  },
  canvas: {
    productFamilyCode: 'canvas',
    platformName: 'Sandbox Canvas',
    platformVersion: 'cloud',
    idTokenLifetimeSeconds: 3600,
    sendsDeploymentIdInLogin: true,
    nrpsClaimOnlyForTeachers: false,
    agsTypographicQuotes: false,
    defaultPageSize: 10,
    maxPageSize: 50,
    nrpsDefaultPageSize: 50,
    pagingParam: 'page',
    fullLinkRelations: true,
    exactMediaTypes: false,
    nrpsOmitsInactive: true,
    canvasIdentity: true,
    rejectsStaleScores: true,
    scoreAnswersResultUrl: true,
    launchLocale: 'bcp47',
    sendsReturnUrl: true,
    defaultRateLimit: { requestsPerSecond: 20, requestCost: 1 },
  },
  chamilo: {
    productFamilyCode: 'chamilo',
    platformName: 'Sandbox Chamilo',
    platformVersion: '1.11.28',
    idTokenLifetimeSeconds: 60,
    sendsDeploymentIdInLogin: false,
    nrpsClaimOnlyForTeachers: true,
    agsClaimScopes: [SCOPE.lineItem, SCOPE.lineItemReadonly],
    agsTypographicQuotes: false,
    pagingParam: 'page',
    fullLinkRelations: false,
    exactMediaTypes: true,
    nrpsOmitsInactive: false,
    canvasIdentity: false,
    rejectsStaleScores: false,
    scoreAnswersResultUrl: false,
    launchLocale: 'chamilo',
    sendsReturnUrl: false,
  },
  standard: {
    productFamilyCode: 'sandbox',
    platformName: 'Sandbox LMS',
    platformVersion: '1.0',
    idTokenLifetimeSeconds: 3600,
    sendsDeploymentIdInLogin: true,
    nrpsClaimOnlyForTeachers: false,
    agsTypographicQuotes: false,
    pagingParam: 'from',
    fullLinkRelations: false,
    exactMediaTypes: false,
    nrpsOmitsInactive: false,
    canvasIdentity: false,
    rejectsStaleScores: false,
    scoreAnswersResultUrl: false,
    launchLocale: 'bcp47',
    sendsReturnUrl: true,
  },
};

export function isQuirkMode(value: unknown): value is QuirkMode {
  return typeof value === 'string' && (QUIRK_MODES as readonly string[]).includes(value);
}
