// Progress of a background job (grade sync, generate all, export all), shown in the page.
//
//   <div data-job-progress
//        data-job-url="…/jobs/<id>"            JSON: the JobView of src/jobs (status, progress, result, error)
//        data-done-url="…?file={result.fileId}" optional: where to go when the job succeeds ({id},
//                                               {result.<key>} are filled in); without it, the page reloads
//        data-text-progress="{done} of {total} learners"   texts, translated by the page
//        data-text-part-items="{done} of {total} activities" (one per progress part), data-text-label,
//        data-text-queued, data-text-running, data-text-succeeded, data-text-failed ("{message}"),
//        data-text-cancelled, data-text-unreachable>       — the {{jobProgressTexts}} helper writes them
//   </div>
//
// The page renders this element from the latest job, so a reload simply picks up where it was.
// Requests carry the session as a bearer token (document.body.dataset.session): inside an LMS
// iframe third-party cookies are blocked, so the tool never relies on them.
// The element fires `job-progress:update` (every poll) and `job-progress:done` (finished) events.
(function () {
  'use strict';

  var VISIBLE_MS = 1000;
  var HIDDEN_MS = 10000;
  var MAX_BACKOFF_MS = 30000;
  var FINISHED = { succeeded: true, failed: true, cancelled: true };
  var counter = 0;

  function text(el, name, fallback) {
    var value = el.getAttribute('data-text-' + name);
    return value === null ? fallback : value;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
    });
  }

  function numberFormat() {
    var lang = document.documentElement.lang || undefined;
    try {
      return new Intl.NumberFormat(lang);
    } catch (e) {
      return new Intl.NumberFormat();
    }
  }

  function make(tag, className, parent) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (parent) parent.appendChild(node);
    return node;
  }

  function doneUrlFor(template, job) {
    return template.replace(/\{(id|result\.[\w-]+)\}/g, function (whole, key) {
      var value = key === 'id' ? job.id : job.result && job.result[key.slice(7)];
      return value === undefined || value === null ? whole : encodeURIComponent(String(value));
    });
  }

  function attach(el) {
    if (el.getAttribute('data-job-progress-ready') !== null) return;
    el.setAttribute('data-job-progress-ready', '');
    var url = el.getAttribute('data-job-url');
    if (!url) return;
    var id = 'job-progress-' + ++counter;
    var numbers = numberFormat();

    el.textContent = '';
    el.classList.add('job-progress');
    var label = make('label', 'job-progress__label', el);
    label.htmlFor = id;
    label.textContent = text(el, 'label', 'Progress');
    var bar = make('progress', 'job-progress__bar', el);
    bar.id = id;
    var count = make('p', 'job-progress__count', el);
    count.id = id + '-count';
    bar.setAttribute('aria-describedby', count.id);
    var parts = make('ul', 'job-progress__parts', el);
    // Only changes of state are announced; the count changes every second and would drown a screen reader.
    var status = make('p', 'job-progress__status', el);
    status.setAttribute('role', 'status');

    // Pages render this element for jobs that were queued or running when the page was made, so
    // a job that finishes before the first poll still moves the page on. A page that shows an
    // already finished job marks it data-initial="finished" (no reload: it would loop).
    var sawUnfinished = el.getAttribute('data-initial') !== 'finished';
    var lastStatus = null;
    var failures = 0;
    var timer = null;
    var stopped = false;

    function counted(template, p) {
      return fill(template, { done: numbers.format(p.done || 0), total: numbers.format(p.total || 0) });
    }

    function announce(message, urgent) {
      status.setAttribute('role', urgent ? 'alert' : 'status');
      if (status.textContent !== message) status.textContent = message;
    }

    function render(job) {
      var p = job.progress || { done: 0, total: 0 };
      if (p.total > 0) {
        bar.max = p.total;
        bar.value = Math.min(p.done || 0, p.total);
        count.textContent = counted(text(el, 'progress', '{done} / {total}'), p);
      } else if (job.status === 'succeeded') {
        bar.max = 1;
        bar.value = 1;
        count.textContent = '';
      } else {
        bar.removeAttribute('value'); // indeterminate until the job knows its size
        count.textContent = '';
      }

      parts.textContent = '';
      var names = p.parts ? Object.keys(p.parts) : [];
      names.forEach(function (name) {
        var item = make('li', 'job-progress__part', parts);
        item.setAttribute('data-part', name);
        item.textContent = counted(text(el, 'part-' + name.toLowerCase(), name + ': {done} / {total}'), p.parts[name]);
      });
      parts.hidden = names.length === 0;

      el.setAttribute('data-status', job.status);
      if (job.status === lastStatus) return;
      lastStatus = job.status;
      if (job.status === 'queued') announce(text(el, 'queued', ''), false);
      else if (job.status === 'running') announce(text(el, 'running', ''), false);
      else if (job.status === 'succeeded') announce(text(el, 'succeeded', ''), false);
      else if (job.status === 'cancelled') announce(text(el, 'cancelled', ''), false);
      else if (job.status === 'failed') {
        var reason = (job.error && job.error.message) || '';
        announce(fill(text(el, 'failed', '{message}'), { message: reason }), true);
      }
    }

    function finish(job) {
      stopped = true;
      el.dispatchEvent(new CustomEvent('job-progress:done', { bubbles: true, detail: job }));
      // Only a job that was unfinished in this page view moves on (see sawUnfinished).
      if (job.status !== 'succeeded' || !sawUnfinished) return;
      var doneUrl = el.getAttribute('data-done-url');
      setTimeout(function () {
        if (doneUrl) window.location.assign(doneUrlFor(doneUrl, job));
        else window.location.reload();
      }, 600);
    }

    function schedule() {
      if (stopped) return;
      clearTimeout(timer);
      var delay = document.hidden ? HIDDEN_MS : VISIBLE_MS;
      if (failures > 0) delay = Math.min(MAX_BACKOFF_MS, VISIBLE_MS * Math.pow(2, failures));
      timer = setTimeout(poll, delay);
    }

    function poll() {
      if (stopped) return;
      var headers = { Accept: 'application/json' };
      var session = document.body && document.body.dataset.session;
      if (session) headers.Authorization = 'Bearer ' + session;
      fetch(url, { headers: headers, credentials: 'omit', cache: 'no-store' })
        .then(function (res) {
          if (res.ok) return res.json();
          // The session ended or the job is gone: polling again cannot help.
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            return res.json().then(
              function (body) { throw { fatal: true, message: (body && (body.message || (body.error && body.error.message))) || String(res.status) }; },
              function () { throw { fatal: true, message: String(res.status) }; }
            );
          }
          throw { fatal: false };
        })
        .then(function (job) {
          failures = 0;
          if (!FINISHED[job.status]) sawUnfinished = true;
          render(job);
          el.dispatchEvent(new CustomEvent('job-progress:update', { bubbles: true, detail: job }));
          if (FINISHED[job.status]) finish(job);
          else schedule();
        })
        .catch(function (err) {
          if (err && err.fatal) {
            stopped = true;
            el.setAttribute('data-status', 'unavailable');
            announce(fill(text(el, 'failed', '{message}'), { message: err.message }), true);
            return;
          }
          failures++;
          announce(text(el, 'unreachable', ''), false);
          lastStatus = null;
          schedule();
        });
    }

    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !stopped) {
        clearTimeout(timer);
        poll();
      }
    });
    poll();
  }

  /** Starts every progress element under `root` that is not running yet (for content added later). */
  function init(root) {
    (root || document).querySelectorAll('[data-job-progress]').forEach(attach);
  }

  window.JobProgress = { init: init };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { init(); });
  else init();
})();
