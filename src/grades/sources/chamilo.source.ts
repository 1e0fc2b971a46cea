/**
 * Chamilo 1.11's SOAP gradebook service as a grade source: one column, each learner's **course
 * total** as Chamilo computes it (main/webservices/gradebook.php `WSGetGradebookCategoryUserScore`,
 * tried against a real Chamilo 1.11.28: test/fixtures/chamilo-soap/README.md). Chamilo's AGS shows
 * the tool only its own "Certificates" evaluation, and its CSV export has per-activity grades; this
 * service is the only way to read the total without a file.
 *
 * What the real service does, and how this source copes:
 * - One call per learner, who is found by **e-mail** (`api_get_user_info_from_email`): a member
 *   the tool knows no e-mail for is reported and skipped.
 * - The answer is a string formatted by Chamilo's ScoreDisplay, `89 % (89 / 100)`: the weighted
 *   total over the root category's weight, rounded to the platform's gradebook decimals (default
 *   0). It is read as `scoreGiven / scoreMaximum` from the parenthesis.
 * - Someone not in the course gets `0 % (0 / 100)`, not an error; a result without a score counts
 *   as 0. The service cannot say "not graded": every answer is a grade.
 * - Faults are HTTP 500 `text/xml` with a `faultstring` ("Secret key is not correct or params are
 *   not correctly set", "User not found", "Course not found", "Gradebook category not found").
 *   A refused key or an unknown course stops the step (every call would fail the same way); an
 *   unknown e-mail is one learner's problem.
 * - The secret key is `sha1(<the tool's IP as Chamilo sees it> . $_configuration['security_key'])`
 *   (`WSHelperVerifyKey`, main/inc/lib/api.lib.php `api_is_valid_secret_key`), or
 *   `sha1(security_key)` when Chamilo has a `webservice-auth-ip.conf.php` IP list.
 * - Every answer carries a ~16 KB XML comment of nusoap debug output after the envelope
 *   (`$debug = true` in gradebook.php): only the `<return>` or `<faultstring>` element is read.
 * - The envelope is declared ISO-8859-1: the body is decoded as latin1 when it says so.
 */
import { createHash } from 'node:crypto';
import { PlatformBadResponseError, PlatformHttpError, PlatformUnreachableError, SourceUnavailableError } from '../../http/platform-errors';
import { inEnglish } from '../../i18n/english';
import type { GradeSource, SourceContext, SourceLineItem, SourceResult } from './grade-source';
import { mapLimit } from './map-limit';

/** The path of the service under Chamilo's base URL (the LTI issuer). */
export const CHAMILO_GRADEBOOK_PATH = '/main/webservices/gradebook.php';
const SOAP_ACTION = 'urn:WSGradebook#WSGetGradebookCategoryUserScore';

export interface ChamiloSoapConfig {
  /** Chamilo's base URL (its LTI issuer, e.g. https://campus.example.edu). */
  baseUrl: string;
  /** `$_configuration['security_key']` from Chamilo's app/config/configuration.php. */
  securityKey: string;
  /**
   * The tool's IP address as Chamilo sees it (its REMOTE_ADDR, or the first X-Forwarded-For
   * address a proxy in front of Chamilo passes on). Leave it out when Chamilo has an IP list
   * (webservice-auth-ip.conf.php): the key is then sha1(security_key) alone.
   */
  callerIp?: string;
}

/** The `secret_key` parameter Chamilo expects (main/webservices/gradebook.php WSHelperVerifyKey). */
export function chamiloSecretKey(config: Pick<ChamiloSoapConfig, 'securityKey' | 'callerIp'>): string {
  return createHash('sha1')
    .update(`${config.callerIp ?? ''}${config.securityKey}`)
    .digest('hex');
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The rpc/encoded request a SOAP client sends (the same bytes as PHP's SoapClient with the WSDL). */
export function chamiloScoreEnvelope(p: { courseCode: string; sessionId?: number; email: string; secretKey: string }): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:WSGradebook" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    '<SOAP-ENV:Body><ns1:WSGetGradebookCategoryUserScore><params xsi:type="ns1:WSGradebookCategoryScoreParams">' +
    `<course_code xsi:type="xsd:string">${xmlEscape(p.courseCode)}</course_code>` +
    `<session_id xsi:type="xsd:string">${p.sessionId ?? 0}</session_id>` +
    `<email xsi:type="xsd:string">${xmlEscape(p.email)}</email>` +
    `<secret_key xsi:type="xsd:string">${xmlEscape(p.secretKey)}</secret_key>` +
    '</params></ns1:WSGetGradebookCategoryUserScore></SOAP-ENV:Body></SOAP-ENV:Envelope>\n'
  );
}

const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');

export type ChamiloAnswer = { ok: true; text: string; score: number; maximum: number } | { ok: false; fault: string };

/**
 * Reads a gradebook.php answer: the `<return>` string parsed as `P % (score / max)`, or the
 * `<faultstring>`. The debug comment nusoap appends is ignored (it quotes the request, so it is
 * cut off before anything is searched).
 */
export function parseChamiloScoreAnswer(body: string): ChamiloAnswer | undefined {
  const end = body.indexOf('</SOAP-ENV:Envelope>');
  const envelope = end >= 0 ? body.slice(0, end) : body;
  const fault = /<faultstring[^>]*>([\s\S]*?)<\/faultstring>/.exec(envelope);
  if (fault) return { ok: false, fault: xmlUnescape(fault[1]!).trim() };
  const ret = /<return[^>]*>([\s\S]*?)<\/return>/.exec(envelope);
  if (!ret) return undefined;
  const text = xmlUnescape(ret[1]!).trim();
  // ScoreDisplay::displayDefault, SCORE_DIV_PERCENT: "89 % (89 / 100)" (decimals per platform setting).
  const m = /\(\s*(-?[\d.,]+)\s*\/\s*([\d.,]+)\s*\)/.exec(text);
  if (!m) return undefined;
  const num = (s: string) => Number(s.replace(',', '.'));
  const score = num(m[1]!);
  const maximum = num(m[2]!);
  if (!Number.isFinite(score) || !Number.isFinite(maximum) || maximum <= 0) return undefined;
  return { ok: true, text, score, maximum };
}

/** A learner the source asks about: the LTI user id (Chamilo's user id = `sub`) and the e-mail Chamilo knows. */
export interface ChamiloLearner {
  userId: string;
  email?: string;
}

export interface ChamiloSourceOptions {
  config: ChamiloSoapConfig;
  /** The course code: the LTI context `label` Chamilo sends (plugin/ims_lti: `$course->getCode()`). */
  courseCode: string;
  /** The course's learners (from the roster the tool keeps). */
  learners(): Promise<ChamiloLearner[]>;
  fetch?: typeof fetch;
  /** Per request, default 30 s. */
  timeoutMs?: number;
}

/** The column's stable id within the source. */
export const chamiloTotalExternalId = (courseCode: string) => `chamilo:course-total:${courseCode}`;

function decode(buf: ArrayBuffer, contentType: string | null): string {
  const latin1 = /iso-8859-1|latin1/i.test(contentType ?? '') || /^<\?xml[^>]*encoding="ISO-8859-1"/i.test(Buffer.from(buf.slice(0, 100)).toString('latin1'));
  return Buffer.from(buf).toString(latin1 ? 'latin1' : 'utf8');
}

export function createChamiloSource(opts: ChamiloSourceOptions): GradeSource {
  const url = opts.config.baseUrl.replace(/\/+$/, '') + CHAMILO_GRADEBOOK_PATH;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const secretKey = chamiloSecretKey(opts.config);
  const item: SourceLineItem = {
    externalId: chamiloTotalExternalId(opts.courseCode),
    label: 'Course total (Chamilo gradebook)',
    scoreMaximum: 100,
    kind: 'course-total',
  };

  async function call(email: string, signal?: AbortSignal): Promise<ChamiloAnswer> {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${SOAP_ACTION}"` },
        body: chamiloScoreEnvelope({ courseCode: opts.courseCode, email, secretKey }),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]),
        redirect: 'manual',
      });
    } catch (err) {
      const ref = { key: 'grades.syncError.chamilo.unreachable', params: { url, reason: (err as Error).message } };
      throw new PlatformUnreachableError(inEnglish(ref), url, undefined, ref);
    }
    const body = decode(await res.arrayBuffer(), res.headers.get('content-type'));
    const answer = parseChamiloScoreAnswer(body);
    if (answer) return answer;
    if (res.status === 404) {
      const ref = { key: 'grades.syncError.chamilo.notFound', params: { url } };
      throw new PlatformHttpError(inEnglish(ref), url, 404, undefined, ref);
    }
    if (/Webservices are disabled/.test(body)) {
      const ref = { key: 'grades.syncError.chamilo.wsDisabled', params: { setting: "$_configuration['disable_webservices']", file: 'app/config/configuration.php' } };
      throw new SourceUnavailableError(inEnglish(ref), 'chamilo_ws_disabled', ref);
    }
    const ref = { key: 'grades.syncError.chamilo.badAnswer', params: { url, status: res.status } };
    throw new PlatformBadResponseError(inEnglish(ref), url, undefined, ref);
  }

  /** Faults that mean every call of this course would fail the same way. */
  function stopOn(fault: string): never | void {
    if (/secret key is not correct/i.test(fault)) {
      const ref = { key: 'grades.syncError.chamilo.keyRefused', params: { setting: "$_configuration['security_key']", file: 'app/config/configuration.php', ipList: 'webservice-auth-ip.conf.php' } };
      throw new SourceUnavailableError(inEnglish(ref), 'chamilo_ws_key_refused', ref);
    }
    if (/course not found/i.test(fault)) {
      const ref = { key: 'grades.syncError.chamilo.courseNotFound', params: { code: opts.courseCode } };
      throw new SourceUnavailableError(inEnglish(ref), 'chamilo_ws_course_not_found', ref);
    }
    if (/gradebook category not found/i.test(fault)) {
      const ref = { key: 'grades.syncError.chamilo.noGradebook', params: { code: opts.courseCode } };
      throw new SourceUnavailableError(inEnglish(ref), 'chamilo_ws_no_gradebook', ref);
    }
  }

  return {
    kind: 'chamilo',
    async lineItems() {
      return { items: [item], complete: true };
    },
    async results(ctx: SourceContext, req, sink) {
      if (!req.items.some((i) => i.externalId === item.externalId)) return;
      let learners = await opts.learners();
      if (req.userId) learners = learners.filter((l) => l.userId === req.userId);
      const results: SourceResult[] = [];
      let complete = true;
      await mapLimit(learners, req.concurrency, async (l) => {
        if (!l.email) {
          complete = false;
          const ref = { key: 'grades.syncError.chamilo.noEmail', params: { learner: l.userId } };
          ctx.error('chamilo_no_email', inEnglish(ref), undefined, ref);
          return;
        }
        const answer = await call(l.email, ctx.signal);
        if (answer.ok) {
          results.push({ userId: l.userId, scoreGiven: answer.score, scoreMaximum: answer.maximum });
          return;
        }
        stopOn(answer.fault);
        complete = false;
        const ref = { key: 'grades.syncError.chamilo.fault', params: { fault: answer.fault, email: l.email } };
        ctx.error('chamilo_ws_fault', inEnglish(ref), undefined, ref);
      });
      await sink({ externalId: item.externalId, results, complete });
    },
  };
}

/** What the factory needs to know about a course (the sync passes GradeSourceCourse). */
export interface ChamiloFactoryDeps {
  /** The Chamilo settings of a course's platform, or undefined when it has none (not Chamilo, not set up). */
  configFor(course: { issuer: string; clientId: string; platformFamily: string }): ChamiloSoapConfig | undefined;
  /** The course's code (its LTI context label) and learners, read from the tool's database. */
  courseCode(courseId: string): Promise<string | undefined>;
  learners(courseId: string): Promise<ChamiloLearner[]>;
  fetch?: typeof fetch;
}

/**
 * A `GradeSourceFactory`: a Chamilo source for courses whose platform has Chamilo settings and
 * whose context label (the course code) is known, else null.
 */
export function chamiloSourceFactory(deps: ChamiloFactoryDeps) {
  return async (course: { _id: unknown; issuer: string; clientId: string; platformFamily: string }): Promise<GradeSource | null> => {
    const config = deps.configFor(course);
    if (!config) return null;
    const id = String(course._id);
    const courseCode = await deps.courseCode(id);
    if (!courseCode) return null;
    return createChamiloSource({ config, courseCode, learners: () => deps.learners(id), fetch: deps.fetch });
  };
}
