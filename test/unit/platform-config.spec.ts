import { expect } from 'chai';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config';
import { loadPlatformFiles } from '../../src/lti/platform-config';

describe('platform-config/ (static registrations)', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'platforms-'));

  it('loads the shipped Moodle, Canvas and Chamilo examples', () => {
    const d = dir();
    for (const f of readdirSync('platform-config/examples')) copyFileSync(join('platform-config/examples', f), join(d, f));
    const loaded = loadPlatformFiles(d);
    expect(loaded.map((p) => p.name)).to.have.length(3);
    expect(loaded.every((p) => p.deploymentIds.length === 1)).to.equal(true);
  });

  it('names the file and the field of a bad registration', () => {
    const d = dir();
    writeFileSync(join(d, 'moodle.json'), JSON.stringify({ name: 'M', issuer: 'not a url', clientId: 'x', authUrl: 'https://a', tokenUrl: 'https://b', jwksUrl: 'https://c' }));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /moodle\.json: field "issuer"/);
  });

  it('refuses a keyset or token URL on a link-local, metadata or non-http address', () => {
    const d = dir();
    writeFileSync(join(d, 'm.json'), JSON.stringify({ name: 'M', issuer: 'https://i', clientId: 'x', authUrl: 'https://a', tokenUrl: 'http://169.254.169.254/token', jwksUrl: 'https://c' }));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /m\.json: field "tokenUrl" .*169\.254\.169\.254 is a link-local/);
    writeFileSync(join(d, 'm.json'), JSON.stringify({ name: 'M', issuer: 'https://i', clientId: 'x', authUrl: 'https://a', tokenUrl: 'https://b', jwksUrl: 'file:///etc/keys.json' }));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /m\.json: field "jwksUrl" .*not file:/);
  });

  it('refuses a file with both or neither of jwksUrl and publicKeyPem', () => {
    const d = dir();
    writeFileSync(join(d, 'x.json'), JSON.stringify({ name: 'M', issuer: 'https://i', clientId: 'x', authUrl: 'https://a', tokenUrl: 'https://b' }));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /x\.json: field "jwksUrl" give exactly one of jwksUrl or publicKeyPem/);
  });

  it('refuses unknown fields (typos) and invalid JSON', () => {
    const d = dir();
    writeFileSync(join(d, 'typo.json'), JSON.stringify({ name: 'M', issuer: 'https://i', clientId: 'x', authUrl: 'https://a', tokenUrl: 'https://b', jwksUrl: 'https://c', deploymentId: '1' }));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /typo\.json/);
    const e = dir();
    writeFileSync(join(e, 'broken.json'), '{ "name": ');
    expect(() => loadPlatformFiles(e)).to.throw(ConfigError, /broken\.json: not valid JSON/);
  });

  it('refuses two files for the same issuer and client id', () => {
    const d = dir();
    const p = { name: 'M', issuer: 'https://i', clientId: 'x', authUrl: 'https://a', tokenUrl: 'https://b', jwksUrl: 'https://c' };
    writeFileSync(join(d, 'a.json'), JSON.stringify(p));
    writeFileSync(join(d, 'b.json'), JSON.stringify(p));
    expect(() => loadPlatformFiles(d)).to.throw(ConfigError, /b\.json: issuer and clientId repeat/);
  });
});
