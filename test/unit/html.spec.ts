import { expect } from 'chai';
import { all, attr, cells, form, maybe, one, parseHtml, text, texts } from '../support/html';

describe('HTML reading helpers (test/support/html.ts)', () => {
  const page = parseHtml(`<!doctype html><html><body><main>
    <h1>Bilbo&#39;s   certificates &amp; badges</h1>
    <table><tbody><tr><th>Activity</th><td>9 / 10</td></tr><tr><th>Essay</th><td>—</td></tr></tbody></table>
    <form action="/app/x/claim?d=1&amp;v=2" method="POST">
      <input type="hidden" name="csrf" value="t&quot;k">
      <input type="checkbox" name="public" checked><input type="checkbox" name="draft">
      <select name="lang"><option value="en">English</option><option value="fr" selected>Français</option></select>
      <textarea name="reason">Left the course</textarea>
      <button type="submit">Get your certificate</button>
    </form></main></body></html>`);

  it('reads decoded, whitespace-collapsed text', () => {
    expect(text(page, 'h1')).to.equal("Bilbo's certificates & badges");
    expect(texts(page, 'th')).to.deep.equal(['Activity', 'Essay']);
    expect(all(page, 'tr').map(cells)).to.deep.equal([['Activity', '9 / 10'], ['Essay', '—']]);
  });

  it('reads a form as the browser would submit it', () => {
    expect(form(page)).to.deep.equal({
      action: '/app/x/claim?d=1&v=2',
      method: 'post',
      fields: { csrf: 't"k', public: 'on', lang: 'fr', reason: 'Left the course' },
      buttons: ['Get your certificate'],
    });
    expect(attr(page, 'input[name=csrf]', 'value')).to.equal('t"k');
  });

  it('names the selector when an element is missing', () => {
    expect(maybe(page, '.revoked')).to.equal(null);
    expect(() => one(page, '.revoked')).to.throw(/no element matches "\.revoked" in: Bilbo's certificates/);
  });
});
