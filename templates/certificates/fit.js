(function () {
  'use strict';
  // Shrinks long names and titles to one line, then the whole text block until nothing
  // overflows the sheet. Runs the same on screen and in Chromium before printing; without it
  // (a host page that forbids scripts) the server's estimate classes (fit-NN) still apply.
  var MIN_LINE = 0.5;
  var MIN_SQUEEZE = 0.3;
  function overflows(sheet) {
    var boxes = sheet.querySelectorAll('.content, .main, .middle, .band, .foot');
    for (var i = 0; i < boxes.length; i++) {
      if (overflowsBox(boxes[i])) return true;
    }
    return false;
  }
  function fitLine(el) {
    el.style.setProperty('--fit', '1');
    el.style.whiteSpace = 'nowrap';
    var avail = el.clientWidth;
    var need = el.scrollWidth;
    el.style.whiteSpace = '';
    var f = need > avail + 1 ? Math.max(MIN_LINE, Math.floor((avail / need) * 100) / 100) : 1;
    el.style.setProperty('--fit', String(f));
  }
  function fitBlock(el) {
    el.style.setProperty('--fit', '1');
  }
  function overflowsBox(b) {
    return b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1;
  }
  // Shrinks one text until the box it lives in (e.g. the modern design's band) has room.
  function fitWithin(el) {
    var box = el.closest(el.getAttribute('data-fit-within'));
    var f = 1;
    el.style.setProperty('--fit', '1');
    while (box && overflowsBox(box) && f > 0.45) {
      f = Math.round((f - 0.05) * 100) / 100;
      el.style.setProperty('--fit', String(f));
    }
  }
  function fitSheet(sheet) {
    sheet.style.setProperty('--squeeze', '1');
    var lines = sheet.querySelectorAll('[data-fit="line"]');
    for (var i = 0; i < lines.length; i++) fitLine(lines[i]);
    var blocks = sheet.querySelectorAll('[data-fit="block"]');
    for (var j = 0; j < blocks.length; j++) fitBlock(blocks[j]);
    var withins = sheet.querySelectorAll('[data-fit="within"]');
    for (var k = 0; k < withins.length; k++) fitWithin(withins[k]);
    var s = 1;
    while (overflows(sheet) && s > MIN_SQUEEZE) {
      s = Math.round((s - 0.04) * 100) / 100;
      sheet.style.setProperty('--squeeze', String(s));
    }
  }
  function fitAll() {
    var sheets = document.querySelectorAll('.sheet');
    for (var i = 0; i < sheets.length; i++) fitSheet(sheets[i]);
    document.documentElement.setAttribute('data-fitted', 'true');
  }
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitAll, fitAll);
  else window.addEventListener('load', fitAll);
})();
