/**
 * The course's own page in the LMS — where a learner's "start" on "My certifications" sends
 * them — worked out from what a launch carries. `launch_presentation.return_url` is per
 * launch and may hold the user's session key, so it is never stored as it is:
 *
 * - Moodle: `…/mod/lti/return.php?course=<id>&launch_container=…&instanceid=…&sesskey=…`
 *   (mod/lti/locallib.php `lti_get_launch_data()`): the course page is `…/course/view.php?id=<id>`.
 * - Canvas: `…/courses/<id>/external_content/success/external_tool_redirect`
 *   (app/controllers/external_tools_controller.rb, `external_content_success_url('external_tool_redirect')`): the course is `…/courses/<id>`.
 * - Chamilo 1.11 sends no return URL in LTI 1.3; its course page is `<issuer>/courses/<code>/index.php`,
 *   the code being the context label (the same code its gradebook service takes, src/grades/sources/chamilo.source.ts).
 * - Anything else: the return URL without its query string (a session key or token lives there).
 */
export function courseLinkOf(input: { platformFamily: string; issuer: string; label?: string; returnUrl?: string }): string | undefined {
  let url: URL | undefined;
  try {
    url = input.returnUrl ? new URL(input.returnUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (url && url.protocol !== 'https:' && url.protocol !== 'http:') url = undefined;
  if (url) {
    const moodle = /^(.*)\/mod\/lti\/return\.php$/.exec(url.pathname);
    const moodleCourse = url.searchParams.get('course');
    if (moodle && moodleCourse && /^\d+$/.test(moodleCourse)) return `${url.origin}${moodle[1]}/course/view.php?id=${moodleCourse}`;
    const canvas = /^(.*\/courses\/\d+)(\/|$)/.exec(url.pathname);
    if (input.platformFamily === 'canvas' && canvas) return `${url.origin}${canvas[1]}`;
    return `${url.origin}${url.pathname}`;
  }
  if (input.platformFamily === 'chamilo' && input.label && /^[A-Za-z0-9_-]+$/.test(input.label)) {
    return `${input.issuer.replace(/\/+$/, '')}/courses/${input.label}/index.php`;
  }
  return undefined;
}
