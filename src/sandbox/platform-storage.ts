/**
 * LTI platform storage, the way Canvas offers it (IMS "LTI OIDC Login with LTI Client Side
 * postMessages" lti-cs-oidc v0.1 and "postMessage Platform Storage" lti-pm-s v0.1), so that a
 * tool can launch when the browser drops its third-party cookies:
 *
 * - the login initiation and the launch POST carry `lti_storage_target=post_message_forwarding`;
 * - the course page holds a hidden frame of that name on the platform's origin, which answers
 *   `lti.put_data` / `lti.get_data` (and `lti.capabilities`) from the tool's frame, keeping each
 *   tool origin's values apart in localStorage (`lti|platform_storage|<origin>|<key>`), and clears
 *   a key on a put_data without value.
 *
 * Canvas: instructure/canvas-lms ui/shared/lti/jquery/platform_storage.ts (localStorage keyed by
 * the sender's origin, 500 keys / 4096 chars per tool), subjects/lti.put_data.ts and
 * lti.get_data.ts (answers `<subject>.response` with key and value, clears on a missing value),
 * subjects/lti.capabilities.ts (put/get are served by the frame named `post_message_forwarding`).
 * Only the Canvas mode does this: Moodle 4.5 (mod/lti/locallib.php lti_build_login_request())
 * and Chamilo 1.11 (plugin/ims_lti) send no lti_storage_target and answer no such messages.
 */
import { Router } from 'express';
import { esc } from './html';
import type { QuirkMode } from './quirks';

/** The frame name Canvas advertises in lti_storage_target. */
export const STORAGE_FRAME = 'post_message_forwarding';

/** The lti_storage_target a course's platform sends with a login and a launch, if any. */
export function storageTargetFor(quirks: QuirkMode): string | undefined {
  return quirks === 'canvas' ? STORAGE_FRAME : undefined;
}

/** The hidden platform-storage frame of a course page (Canvas mode only). */
export function platformStorageFrame(baseUrl: string, quirks: QuirkMode): string {
  if (!storageTargetFor(quirks)) return '';
  return `<iframe name="${STORAGE_FRAME}" id="${STORAGE_FRAME}" src="${esc(baseUrl)}/platform-storage" title="Platform storage" hidden></iframe>`;
}

const FRAME_SCRIPT = `(function () {
  var KEY_LIMIT = 500, CHAR_LIMIT = 4096, usage = {};
  function storageKey(origin, key) { return 'lti|platform_storage|' + origin + '|' + key; }
  window.addEventListener('message', function (event) {
    var m = event.data, source = event.source, origin = event.origin;
    if (!m || typeof m !== 'object' || typeof m.subject !== 'string' || !source) return;
    function answer(body) { body.subject = m.subject + '.response'; body.message_id = m.message_id; source.postMessage(body, origin); }
    function fail(code, message) { answer({ error: { code: code, message: message } }); }
    if (m.subject === 'lti.capabilities') return answer({ supported_messages: [{ subject: 'lti.put_data', frame: '${STORAGE_FRAME}' }, { subject: 'lti.get_data', frame: '${STORAGE_FRAME}' }] });
    if (m.subject !== 'lti.put_data' && m.subject !== 'lti.get_data') return;
    if (!m.message_id) return fail('bad_request', "Missing required 'message_id' field");
    if (!m.key) return fail('bad_request', "Missing required 'key' field");
    var k = storageKey(origin, String(m.key));
    if (m.subject === 'lti.get_data') return answer({ key: m.key, value: window.localStorage.getItem(k) });
    var u = usage[origin] || (usage[origin] = { keys: 0, chars: 0 });
    var old = window.localStorage.getItem(k);
    if (old !== null) { u.keys--; u.chars -= String(m.key).length + old.length; window.localStorage.removeItem(k); }
    if (!m.value) return answer({ key: m.key });
    var value = String(m.value);
    if (u.keys >= KEY_LIMIT || u.chars + m.key.length + value.length > CHAR_LIMIT) return fail('storage_exhaustion', 'Reached the storage limit for this tool');
    window.localStorage.setItem(k, value); u.keys++; u.chars += String(m.key).length + value.length;
    answer({ key: m.key, value: value });
  });
})();`;

/** GET /platform-storage: the frame's page. */
export function platformStorageRoutes(): Router {
  const router = Router();
  router.get('/platform-storage', (_req, res) => {
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Platform storage</title></head><body><script>${FRAME_SCRIPT}</script></body></html>`);
  });
  return router;
}
