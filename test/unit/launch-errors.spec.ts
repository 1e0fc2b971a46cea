import { expect } from 'chai';
import { cookieMissing } from '../../src/lti/launch-errors';

describe('cookieMissing(): advice that is true for the case', () => {
  it('over http from an LMS on another site: serve over https (a new window would not help)', () => {
    for (const fetchDest of ['iframe', 'document']) {
      const f = cookieMissing({ secureCookies: false, fetchSite: 'cross-site', fetchDest, storageOffered: false });
      expect(f).to.include({ status: 401, code: 'cookie_blocked', detail: 'http-lax-cross-site' });
      expect(f.fix).to.include('PUBLIC_URL=https://').and.include('neither in a frame nor in a new window');
    }
  });

  it('over https inside the LMS frame: third-party cookies are blocked; open in a new window or allow them', () => {
    const f = cookieMissing({ secureCookies: true, fetchSite: 'cross-site', fetchDest: 'iframe', storageOffered: false });
    expect(f.detail).to.equal('third-party-cookies-blocked');
    expect(f.fix).to.include('Open the tool in a new window').and.include('third-party cookies');
    const withStorage = cookieMissing({ secureCookies: true, fetchSite: 'cross-site', fetchDest: 'iframe', storageOffered: true });
    expect(withStorage.fix).to.include('platform storage did not answer');
  });

  it('over https at the top level: another browser or a cleared cookie; launch again (no new-window advice)', () => {
    const f = cookieMissing({ secureCookies: true, fetchSite: 'cross-site', fetchDest: 'document', storageOffered: false });
    expect(f.detail).to.equal('cookie-not-sent');
    expect(f.fix).to.include('Launch the tool again').and.not.include('new window (LMS setting');
  });

  it('same-site over http in a frame (the sandbox): the frame dropped it; open in a new window', () => {
    const f = cookieMissing({ secureCookies: false, fetchSite: 'same-origin', fetchDest: 'iframe', storageOffered: false });
    expect(f.detail).to.equal('frame-cookie-dropped');
    expect(f.fix).to.include('Open the tool in a new window');
  });
});
