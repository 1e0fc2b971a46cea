// The launch steps that need a script, served from the tool so that these pages need no
// 'unsafe-inline': the deep-linking reply form, and the platform-storage steps of a login and a
// launch (IMS "LTI OIDC Login with LTI Client Side postMessages", lti-cs-oidc v0.1, and
// "postMessage Platform Storage", lti-pm-s v0.1). Canvas answers lti.put_data / lti.get_data in a
// frame of its own origin named by lti_storage_target (instructure/canvas-lms
// ui/shared/lti/jquery/subjects/lti.put_data.ts, lti.capabilities.ts).
(function () {
  'use strict';
  var el = document.querySelector('[data-lti-storage]');
  if (!el) {
    var reply = document.querySelector('form[data-auto-submit]');
    if (reply) HTMLFormElement.prototype.submit.call(reply);
    return;
  }
  var mode = el.getAttribute('data-lti-storage');
  var targetName = el.getAttribute('data-target');
  var origin = el.getAttribute('data-origin');
  var state = el.getAttribute('data-state');
  var nonce = el.getAttribute('data-nonce');
  var host = window.parent !== window ? window.parent : window.opener;

  function targetFrame() {
    if (!host) return null;
    if (targetName === '_parent') return host;
    try {
      return host.frames[targetName] || null;
    } catch (e) {
      return null;
    }
  }

  // Sends one message and resolves with the platform's answer, or null (error, no answer in time).
  function send(subject, key, value) {
    return new Promise(function (resolve) {
      var target = targetFrame();
      if (!target) return resolve(null);
      var id = 'm' + Math.random().toString(36).slice(2) + Date.now().toString(36);
      var done = false;
      function finish(answer) {
        if (done) return;
        done = true;
        window.removeEventListener('message', listen);
        resolve(answer);
      }
      function listen(event) {
        var data = event.data;
        if (event.origin !== origin || !data || data.message_id !== id || data.subject !== subject + '.response') return;
        finish(data.error ? null : data);
      }
      window.addEventListener('message', listen);
      var message = { subject: subject, message_id: id, key: key };
      if (value !== undefined) message.value = value;
      target.postMessage(message, origin);
      setTimeout(function () { finish(null); }, 3000);
    });
  }

  var form = document.getElementById('lti-storage-form');
  if (mode === 'put') {
    // On to the LMS whatever the answer: the state cookie may still work.
    Promise.all([send('lti.put_data', 'state-' + state, state), send('lti.put_data', 'nonce-' + nonce, nonce)]).then(function () {
      HTMLFormElement.prototype.submit.call(form);
    });
    return;
  }
  function post(name, value) {
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
    HTMLFormElement.prototype.submit.call(form);
  }
  send('lti.get_data', 'state-' + state).then(function (answer) {
    if (answer && answer.value === state) {
      // Used once: clear both keys (Canvas keeps at most 500 per tool).
      send('lti.put_data', 'state-' + state);
      send('lti.put_data', 'nonce-' + nonce);
      post('lti_storage_state', answer.value);
    } else {
      post('lti_storage_failed', '1');
    }
  });
})();
