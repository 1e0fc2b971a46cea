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
      // A refused clipboard (permissions, an iframe without clipboard-write) says so instead of "copied".
      var failed = function () {
        var label = button.textContent;
        button.textContent = button.getAttribute('data-copy-failed') || label;
        setTimeout(function () { button.textContent = label; }, 4000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, failed);
      else failed();
    });
  });
  // Confirmations: <form data-confirm="Are you sure?">.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  // Fields that do not apply are disabled while they do not apply (the server ignores them then):
  // weights and minimums under "all activities, equally weighted", months under "without end date".
  var toggles = [
    { radios: 'input[name="itemsMode"]', off: 'all', fields: 'table.items input' },
    { radios: 'input[name="validity.kind"]', off: 'perpetual', fields: '#f-validity-validForMonths' },
  ];
  toggles.forEach(function (toggle) {
    var radios = document.querySelectorAll(toggle.radios);
    if (!radios.length) return;
    var apply = function () {
      var checked = document.querySelector(toggle.radios + ':checked');
      var off = checked && checked.value === toggle.off;
      document.querySelectorAll(toggle.fields).forEach(function (f) { f.disabled = off; });
    };
    radios.forEach(function (r) { r.addEventListener('change', apply); });
    apply();
  });
  // Times the server wrote in UTC (<time datetime="ISO" data-local-time>UTC text</time>): shown in the
  // reader's own time zone, in the page's language, naming the zone; the UTC text stays as the title.
  var lang = document.documentElement.lang || undefined;
  document.querySelectorAll('time[data-local-time][datetime]').forEach(function (el) {
    var at = new Date(el.getAttribute('datetime'));
    if (isNaN(at.getTime()) || typeof Intl === 'undefined' || !Intl.DateTimeFormat) return;
    try {
      var format = new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' });
      var zone = format.resolvedOptions().timeZone;
      if (!zone) return;
      el.setAttribute('title', el.textContent);
      el.textContent = format.format(at) + ' (' + zone.replace(/_/g, ' ') + ')';
      el.setAttribute('data-time-zone', zone);
    } catch (e) { /* an unknown language: the UTC text stays */ }
  });
  // After an action, the confirmation gets the focus, so a screen reader says what happened.
  var focusMe = document.querySelector('[data-focus-on-load]');
  if (focusMe) focusMe.focus();
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
