/**
 * Chamilo 1.11's SOAP gradebook service for the sandbox's courses in Chamilo mode:
 * `POST <issuer>/main/webservices/gradebook.php`, operation `WSGetGradebookCategoryUserScore`,
 * answering as a real Chamilo 1.11.28 does (its answers: test/fixtures/chamilo-soap/).
 *
 * Sources (Chamilo 1.11.28):
 * - main/webservices/gradebook.php `WSHelperVerifyKey`: the secret key is sha1(IP . security_key),
 *   IP = REMOTE_ADDR or the first X-Forwarded-For address when that header is present;
 *   main/inc/lib/api.lib.php `api_is_valid_secret_key` compares with sha1();
 * - `WSGetGradebookCategoryUserScore`: faults "Secret key is not correct or params are not correctly
 *   set", "User not found" (api_get_user_info_from_email), "Course not found"; the total is
 *   Σ score/max × weight over the course's evaluations, a missing score adding nothing
 *   (`calc_score` empty), formatted by ScoreDisplay::display_score(SCORE_DIV_PERCENT) with the
 *   gradebook's default 0 decimals: "89 % (89 / 100)"; anyone not in the course gets "0 % (0 / 100)";
 * - nusoap (vendor/…/nusoap.php, `$debug = true` in gradebook.php): faults are HTTP 500, the
 *   envelope is ISO-8859-1, and a debug comment follows it.
 * Weights: a column's own `weight` when set (a real teacher sets each evaluation's), else equal
 * shares of the category's 100, as the sandbox's Chamilo CSV export computes them. (A real Chamilo
 * gives the evaluation it creates for the tool the category's remaining weight, 100 observed:
 * plugin/ims_lti/src/Service/Resource/LtiLineItemsResource.php `createLineItem`.)
 */
import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { SandboxContext } from './context';

export interface ChamiloSoapSite {
  /** The sandbox's `$_configuration['security_key']`. */
  securityKey: string;
  /** The service URL. */
  url: string;
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

const envelope = (body: string) =>
  '<?xml version="1.0" encoding="ISO-8859-1"?><SOAP-ENV:Envelope SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" ' +
  'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/">' +
  `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>`;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** nusoap's debug comment, shortened: it quotes the parsed request, secret key included. */
const debugComment = (params: Record<string, string>) =>
  `<!--\nsoap_server: in invoke_method, params:\n${Object.entries(params)
    .map(([k, v]) => `  ["${k}"]=> string(${v.length}) "${v.replace(/--/g, '- -')}"`)
    .join('\n')}\n-->`;

/** nusoap sends ISO-8859-1 (soap_defencoding): the bytes are latin1, and so is the declared charset. */
function sendLatin1(res: Response, status: number, xml: string): void {
  res.status(status).set('Content-Type', 'text/xml; charset=ISO-8859-1').send(Buffer.from(xml, 'latin1'));
}

function faultResponse(res: Response, message: string, params: Record<string, string>): void {
  sendLatin1(
    res,
    500,
      envelope(`<SOAP-ENV:Fault><faultcode xsi:type="xsd:string">Server</faultcode><faultactor xsi:type="xsd:string"></faultactor><faultstring xsi:type="xsd:string">${esc(message)}</faultstring><detail xsi:type="xsd:string"></detail></SOAP-ENV:Fault>`) +
      debugComment(params),
  );
}

function param(xml: string, name: string): string {
  const m = new RegExp(`<${name}[^>]*>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&').trim() : '';
}

/** REMOTE_ADDR as PHP reports it for an IPv4 peer, or the first X-Forwarded-For address. */
function callerIp(req: Request): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (first) return first;
  // Deviation: the sandbox counts ::1 as 127.0.0.1, so that the tool calling its own sandbox at
  // localhost matches whichever loopback address Node picks.
  const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return ip === '::1' ? '127.0.0.1' : ip;
}

/** A learner's course total the way Chamilo computes it for this service, in points out of 100. */
export function chamiloCourseTotal(ctx: SandboxContext, courseId: string, userId: string): number {
  const items = ctx.store.listLineItems(courseId);
  let total = 0;
  for (const item of items) {
    // The same weights as the sandbox's Chamilo CSV export (gradebook-export.ts chamiloWeights).
    const weight = item.weight ?? 100 / items.length;
    const r = ctx.store.getResult(courseId, item.id, userId);
    if (!r || r.scoreMaximum <= 0) continue;
    total += (r.scoreGiven / r.scoreMaximum) * weight;
  }
  return total;
}

export function chamiloSoapRoutes(ctx: SandboxContext, opts: { securityKey?: string } = {}): { router: express.Router; site: ChamiloSoapSite } {
  const site: ChamiloSoapSite = {
    securityKey: opts.securityKey ?? randomBytes(16).toString('hex'),
    url: `${ctx.baseUrl}/main/webservices/gradebook.php`,
  };
  const router = express.Router();
  router.post('/main/webservices/gradebook.php', express.text({ type: () => true, limit: '64kb' }), (req: Request, res: Response) => {
    const xml = typeof req.body === 'string' ? req.body : '';
    if (!/WSGetGradebookCategoryUserScore/.test(xml)) {
      return faultResponse(res, 'Operation not supported by the sandbox (only WSGetGradebookCategoryUserScore)', {});
    }
    const params = {
      course_code: param(xml, 'course_code'),
      session_id: param(xml, 'session_id'),
      email: param(xml, 'email'),
      secret_key: param(xml, 'secret_key'),
    };
    if (!params.secret_key || params.secret_key !== sha1(callerIp(req) + site.securityKey)) {
      return faultResponse(res, 'Secret key is not correct or params are not correctly set', params);
    }
    const user = ctx.store.listCourses().flatMap((c) => ctx.store.listMembers(c.id)).find((m) => m.email === params.email);
    if (!user) return faultResponse(res, 'User not found', params);
    const course = ctx.store.listCourses().find((c) => c.label === params.course_code && c.quirks === 'chamilo');
    if (!course) return faultResponse(res, 'Course not found', params);
    const enrolled = ctx.store.getMembership(course.id, user.id);
    const points = enrolled ? Math.round(chamiloCourseTotal(ctx, course.id, user.id)) : 0;
    sendLatin1(
      res,
      200,
      envelope(
        `<ns1:WSGetGradebookCategoryUserScoreResponse xmlns:ns1="urn:WSGradebook"><return xsi:type="xsd:string">${points} % (${points} / 100)</return></ns1:WSGetGradebookCategoryUserScoreResponse>`,
      ) + debugComment(params),
    );
  });
  return { router, site };
}
