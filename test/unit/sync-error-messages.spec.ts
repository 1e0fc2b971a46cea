/**
 * The sync errors a teacher reads carry message keys (grades.syncError.*): in English the key says
 * exactly what the error's own message says (logs and pages agree), and in the other languages it
 * says it in theirs.
 */
import { expect } from 'chai';
import { createTranslator } from '../../src/i18n';
import { describeRefusal, refusalRef, type AdvantageService } from '../../src/lti/advantage/refusals';
import { describeMissingScope, missingScopeRef, SCOPES } from '../../src/lti/advantage/scopes';

const en = createTranslator('en');
const say = (ref: { key: string; params?: Record<string, string | number> }, t = en) => t(ref.key, ref.params);

describe('sync error messages', () => {
  it('an AGS/NRPS refusal says in English what its message says, for every case', () => {
    const url = 'https://lms.example/api/lti/courses/1/line_items';
    for (const service of ['ags', 'nrps'] as AdvantageService[]) {
      for (const status of [400, 404, 409, 422, 429, 500, 503]) {
        for (const family of [undefined, 'chamilo', 'moodle']) {
          expect(say(refusalRef(status, url, service, family)), `${service} ${status} ${family}`).to.equal(describeRefusal(status, url, service, family));
        }
      }
    }
  });

  it('a scope the platform does not grant says in English what its message says', () => {
    for (const scope of [...Object.values(SCOPES), 'https://example/unknown-scope']) expect(say(missingScopeRef(scope))).to.equal(describeMissingScope(scope));
  });

  it('reads in Dutch, French, German and Spanish', () => {
    const ref = missingScopeRef(SCOPES.resultReadonly);
    expect(say(ref, createTranslator('nl'))).to.match(/^Het platform heeft 'result.readonly' niet toegekend \(AGS: resultaten lezen\)\./);
    expect(say(ref, createTranslator('fr'))).to.match(/^La plateforme n'a pas accordé « result.readonly » \(AGS : lire les résultats\)\./);
    expect(say(ref, createTranslator('de'))).to.match(/^Die Plattform hat „result.readonly“ nicht gewährt \(AGS: Ergebnisse lesen\)\./);
    expect(say(ref, createTranslator('es'))).to.match(/^La plataforma no concedió «result.readonly» \(AGS: leer los resultados\)\./);
    expect(say(refusalRef(404, 'https://lms/x', 'nrps'), createTranslator('de'))).to.equal(
      'Der Teilnehmerlistendienst (NRPS) der Plattform hat unter https://lms/x mit 404 geantwortet: Er kennt diese Adresse nicht mehr. Vielleicht wurde der Kurs, die Aktivität oder das Werkzeug im LMS gelöscht oder neu hinzugefügt. Öffnen Sie das Werkzeug einmal als Lehrkraft aus dem Kurs, damit es die aktuellen Adressen erfährt, und synchronisieren Sie dann erneut.',
    );
  });
});
