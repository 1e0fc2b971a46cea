/**
 * `POST /deeplink/return`: receives the tool's LtiDeepLinkingResponse (a JWT signed by the tool),
 * verifies it against the tool's keyset and places each returned ltiResourceLink in the course,
 * with its line item when the tool asked for one (as Moodle does).
 */
import express, { type Request, type Response } from 'express';
import { decodeJwt } from 'jose';
import { deploymentIdFor, type SandboxContext } from './context';
import { esc, renderErrorPage, renderPage } from './html';
import { CLAIM, MESSAGE_TYPE } from './lti-vocabulary';

interface DeepLinkingData {
  c: string;
  k: string;
  u: string;
}

function readData(value: unknown): DeepLinkingData | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const data = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as DeepLinkingData;
    return typeof data.c === 'string' && typeof data.k === 'string' ? data : undefined;
  } catch {
    return undefined;
  }
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

export function deepLinkingRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  const home = `${ctx.baseUrl}/`;
  const refuse = (res: Response, error: string, description: string) =>
    res.status(400).type('html').send(renderErrorPage('Deep linking response refused', error, description, home));

  router.post('/deeplink/return', express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    const jwt = typeof req.body?.JWT === 'string' ? (req.body.JWT as string) : undefined;
    if (!jwt) return refuse(res, 'invalid_request', 'The form field JWT is missing.');
    let clientId: string | undefined;
    try {
      clientId = decodeJwt(jwt).iss;
    } catch {
      return refuse(res, 'invalid_request', 'JWT is not a JSON Web Token.');
    }
    const client = clientId ? ctx.clients.get(clientId) : undefined;
    if (!client) return refuse(res, 'unauthorized_client', `The response's iss ${JSON.stringify(clientId ?? null)} is not a registered client id.`);
    let claims: Record<string, unknown>;
    try {
      claims = (await ctx.keysets.verify(jwt, client.jwksUrl, {
        issuer: client.clientId,
        audience: ctx.urls.issuer,
        currentDate: ctx.now(),
        requiredClaims: ['exp', 'iat', 'nonce'],
        clockTolerance: 5,
      })) as Record<string, unknown>;
    } catch (err) {
      return refuse(res, 'invalid_signature', `The response could not be verified: ${(err as Error).message}`);
    }
    if (claims[CLAIM.messageType] !== MESSAGE_TYPE.deepLinkingResponse) return refuse(res, 'invalid_request', `message_type must be ${MESSAGE_TYPE.deepLinkingResponse}.`);
    if (claims[CLAIM.version] !== '1.3.0') return refuse(res, 'invalid_request', 'version must be 1.3.0.');
    const data = readData(claims[CLAIM.deepLinkingData]);
    if (!data || data.k !== client.clientId) return refuse(res, 'invalid_request', 'The data claim is missing or is not the one this platform sent.');
    const course = ctx.store.getCourse(data.c);
    if (!course) return refuse(res, 'invalid_request', `Course ${data.c} no longer exists.`);
    if (claims[CLAIM.deploymentId] !== deploymentIdFor(course, client)) return refuse(res, 'invalid_request', `deployment_id must be ${deploymentIdFor(course, client)}.`);
    const items = claims[CLAIM.deepLinkingContentItems] ?? [];
    if (!Array.isArray(items)) return refuse(res, 'invalid_request', 'content_items must be a list.');

    const added: string[] = [];
    const ignored: string[] = [];
    for (const raw of items as Record<string, unknown>[]) {
      if (!raw || raw.type !== 'ltiResourceLink') {
        ignored.push(String(raw?.type ?? 'unknown'));
        continue;
      }
      const title = typeof raw.title === 'string' && raw.title ? raw.title : client.name;
      const url = typeof raw.url === 'string' ? raw.url : undefined;
      const link = ctx.store.addResourceLink(course.id, { title, url, custom: stringRecord(raw.custom) });
      const lineItem = raw.lineItem as Record<string, unknown> | undefined;
      let note = '';
      if (lineItem && typeof lineItem.scoreMaximum === 'number' && lineItem.scoreMaximum > 0) {
        const item = ctx.store.addLineItem(course.id, {
          label: typeof lineItem.label === 'string' ? lineItem.label : title,
          scoreMaximum: lineItem.scoreMaximum,
          resourceLinkId: link.id,
          resourceId: typeof lineItem.resourceId === 'string' ? lineItem.resourceId : undefined,
          tag: typeof lineItem.tag === 'string' ? lineItem.tag : undefined,
          clientId: client.clientId,
        });
        note = ` with grade column “${item.label}” (max ${item.scoreMaximum})`;
      }
      added.push(`<li data-resource-link-id="${esc(link.id)}">${esc(title)}${url ? ` <span class="muted">(${esc(url)})</span>` : ''}${esc(note)}</li>`);
    }
    const message = typeof claims['https://purl.imsglobal.org/spec/lti-dl/claim/msg'] === 'string' ? `<p>${esc(claims['https://purl.imsglobal.org/spec/lti-dl/claim/msg'])}</p>` : '';
    const body = `<h1>Added to ${esc(course.title)}</h1>${message}
<div class="card"><ul id="added-items">${added.join('') || '<li class="muted">Nothing was selected.</li>'}</ul>
${ignored.length ? `<p class="muted">Ignored content items of type ${esc(ignored.join(', '))}.</p>` : ''}
<p><a class="button" target="_top" href="${esc(ctx.urls.course(course.id))}">Back to the course</a></p></div>`;
    res.type('html').send(renderPage('Content added', body, { homeUrl: home, subtitle: course.title }));
  });
  return router;
}
