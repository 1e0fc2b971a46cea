// Small progressive enhancements for the tool's pages; everything works without them.
(function () {
  'use strict';
  // Dynamic registration: tell the LMS (Moodle, Canvas) to close its registration panel.
  document.querySelectorAll('[data-lti-close]').forEach(function (button) {
    button.addEventListener('click', function () {
      (window.opener || window.parent).postMessage({ subject: 'org.imsglobal.lti.close' }, '*');
    });
  });
  // Copy-link buttons: <button data-copy="text" data-copied="Copied">.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      var text = button.getAttribute('data-copy');
      var done = function () {
        var label = button.textContent;
        button.textContent = button.getAttribute('data-copied') || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, done);
      else done();
    });
  });
  // Confirmations: <form data-confirm="Are you sure?">.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  // Double submits: disable a form's buttons once it is sent (the server is idempotent anyway).
  document.querySelectorAll('form').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (event.defaultPrevented) return;
      setTimeout(function () {
        form.querySelectorAll('button[type=submit]').forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
