/**
 * Menu paths ("Site administration › Server › Web services › Manage tokens") in the messages must use the words the
 * platform itself shows in that language, one spelling per menu item. Each name below was read from the platform's
 * own language pack (which pack, which string id: src/i18n/messages/README.md, "LMS menu names"). A "›" path in any
 * message may only be made of these names, of the tool's own page names, or of the few descriptive phrases listed in
 * TOOL_PHRASES — so a new message cannot bring back a guessed name ("Site-beheer", "Rechte ändern", "Echt").
 */
import { expect } from 'chai';
import { LANGUAGES, loadMessageCatalogs } from '../../src/i18n';

type Lang = (typeof LANGUAGES)[number];
type Name = { id: string } & Record<Lang, string>;

/** Moodle 4.5 (AMOS packs, projectestac/moodle-langpacks upstream_45); `component:stringid`. */
const MOODLE: Name[] = [
  { id: 'moodle:administrationsite', en: 'Site administration', nl: 'Sitebeheer', fr: 'Administration du site', de: 'Website-Administration', es: 'Administración del sitio' },
  { id: 'moodle:general', en: 'General', nl: 'Algemeen', fr: 'Général', de: 'Allgemein', es: 'General' },
  { id: 'admin:advancedfeatures', en: 'Advanced features', nl: 'Geavanceerd', fr: 'Fonctions avancées', de: 'Zusatzoptionen', es: 'Opciones avanzadas' },
  { id: 'admin:enablewebservices', en: 'Enable web services', nl: 'Webservices inschakelen', fr: 'Activer les services web', de: 'Webservices aktivieren', es: 'Habilitar servicios web' },
  { id: 'completion:enablecompletion', en: 'Enable completion tracking', nl: 'Bijhouden van voltooiing inschakelen', fr: 'Activer le suivi de l’achèvement des activités', de: 'Abschlussverfolgung aktivieren', es: 'Habilitar seguimiento del grado de finalización' },
  { id: 'admin:server', en: 'Server', nl: 'Server', fr: 'Serveur', de: 'Server', es: 'Servidor' },
  { id: 'webservice:webservices', en: 'Web services', nl: 'Webservices', fr: 'Services web', de: 'Webservices', es: 'Servicios Web' },
  { id: 'webservice:managetokens', en: 'Manage tokens', nl: 'Beheer tokens', fr: 'Gérer les jetons', de: 'Token verwalten', es: 'Administrar fichas (tokens)' },
  { id: 'webservice:externalservices', en: 'External services', nl: 'Externe services', fr: 'Services externes', de: 'Externe Services', es: 'Servicios externos' },
  { id: 'webservice:functions', en: 'Functions', nl: 'Functies', fr: 'Fonctions', de: 'Funktionen', es: 'Funciones' },
  { id: 'webservice:manageprotocols', en: 'Manage protocols', nl: 'Beheer protocols', fr: 'Gérer les protocoles', de: 'Protokolle verwalten', es: 'Administrar protocolos' },
  { id: 'webservice_rest:pluginname', en: 'REST protocol', nl: 'REST protocol', fr: 'Protocole REST', de: 'Protokoll REST', es: 'Protocolo REST' },
  { id: 'moodle:users', en: 'Users', nl: 'Gebruikers', fr: 'Utilisateurs', de: 'Nutzer/innen', es: 'Usuarios' },
  { id: 'role:permissions', en: 'Permissions', nl: 'Rechten', fr: 'Permissions', de: 'Rechte', es: 'Permisos' },
  { id: 'role:defineroles', en: 'Define roles', nl: 'Definieer rollen', fr: 'Définition des rôles', de: 'Rollen verwalten', es: 'Definir roles' },
  { id: 'admin:plugins', en: 'Plugins', nl: 'Plugins', fr: 'Plugins', de: 'Plugins', es: 'Extensiones' },
  { id: 'moodle:activitymodules', en: 'Activity modules', nl: 'Activiteitenmodules', fr: 'Modules d’activité', de: 'Aktivitäten', es: 'Módulos de Actividad' },
  { id: 'lti:pluginname', en: 'External tool', nl: 'Externe tool', fr: 'Outil externe', de: 'Externes Tool', es: 'Herramienta Externa' },
  { id: 'lti:manage_external_tools', en: 'Manage tools', nl: 'Beheer tools', fr: 'Gérer les outils', de: 'Tools verwalten', es: 'Administrar herramientas' },
  { id: 'moodle:course', en: 'Course', nl: 'Cursus', fr: 'Cours', de: 'Kurs', es: 'Curso' },
  { id: 'moodle:settings', en: 'Settings', nl: 'Instellingen', fr: 'Paramètres', de: 'Einstellungen', es: 'Configuración' },
  { id: 'completion:completion', en: 'Completion tracking', nl: 'Voltooien bijhouden', fr: 'Suivi d’achèvement', de: 'Abschlussverfolgung', es: 'Rastreo de finalización' },
  { id: 'completion:coursecompletion', en: 'Course completion', nl: 'Cursus voltooien', fr: 'Achèvement de cours', de: 'Kursabschluss', es: 'Finalización del curso' },
  { id: 'grades:grades', en: 'Grades', nl: 'Cijfers', fr: 'Notes', de: 'Bewertungen', es: 'Calificaciones' },
  { id: 'grades:export', en: 'Export', nl: 'Exporteer', fr: 'Exporter', de: 'Export', es: 'Exportar' },
  { id: 'gradeexport_txt:pluginname', en: 'Plain text file', nl: 'Tekstbestand', fr: 'Fichier texte', de: 'Textdatei', es: 'Archivo en texto plano' },
];

/** Canvas (instructure/canvas-lms config/locales/<lang>.yml); the yml key. */
const CANVAS: Name[] = [
  { id: 'admin_4d3ba42f', en: 'Admin', nl: 'Beheer', fr: 'Admin', de: 'Admin', es: 'Admin' },
  { id: 'developer_keys_d70ba44a', en: 'Developer Keys', nl: 'Ontwikkelaarssleutel', fr: 'Clés de développeur', de: 'Entwicklerschlüssel', es: 'Claves del desarrollador' },
  { id: 'enforce_scopes_be28989c', en: 'Enforce Scopes', nl: 'Bereiken afdwingen', fr: 'Application des étendues', de: 'Geltungsbereiche durchsetzen', es: 'Establecer alcance' },
  { id: 'grades_a61eba0a', en: 'Grades', nl: 'Cijfers', fr: 'Notes', de: 'Noten', es: 'Calificaciones' },
  { id: 'export_de71cd8e', en: 'Export', nl: 'Exporteren', fr: 'Exporter', de: 'Exportieren', es: 'Exportar' },
  // fr.yml has no translation of this key: French Canvas shows the English text.
  { id: 'export_entire_gradebook_e980d946', en: 'Export Entire Gradebook', nl: 'Volledige Cijferlijst exporteren', fr: 'Export Entire Gradebook', de: 'Das gesamte Notenbuch exportieren', es: 'Exportar todo el libro de calificaciones' },
];

/** Chamilo 1.11.28 (main/lang/<language>/trad4all.inc.php); the variable name. */
const CHAMILO: Name[] = [
  { id: 'ToolGradebook', en: 'Assessments', nl: 'Puntenboekje', fr: 'Cahier de notes', de: 'Bewertungsmappe', es: 'Evaluaciones' },
  { id: 'FlatView', en: 'List View', nl: 'Vlakke weergave', fr: 'Vue linéaire', de: 'Listenansicht', es: 'Vista plana' },
  { id: 'ExportAsCSV', en: 'CSV export', nl: 'Exporteer als CSV-bestand', fr: 'Export CSV', de: 'Export als CSV Datei', es: 'Exportar a un fichero CSV' },
];

/**
 * The tool's own pages, and the descriptive segments some paths use for what has no menu name (the tool's key in
 * Canvas's list of developer keys). The tool's page titles themselves come from admin.json (TOOL_TITLES below).
 */
const TOOL_PHRASES: Record<Lang, string[]> = {
  en: ['/admin', "the tool's /admin page", "the tool's administrator page", 'the administrator page', "the tool's API key"],
  nl: ['/admin', 'de /admin-pagina van de tool', 'beheerpagina van de tool', 'de beheerpagina', 'de API-sleutel van de tool'],
  fr: ['/admin', "la page /admin de l'outil", "page d'administration de l'outil", "la page d'administration", "la clé API de l'outil"],
  de: ['/admin', 'der /admin-Seite des Werkzeugs', 'die /admin-Seite des Werkzeugs', 'Administrationsseite des Werkzeugs', 'der Administrationsseite', 'der API-Schlüssel des Werkzeugs'],
  es: ['/admin', 'la página /admin de la herramienta', 'página de administración de la herramienta', 'la página de administración', 'la clave API de la herramienta'],
};
const TOOL_TITLES = ['admin.moodle.title', 'admin.canvas.title'];

/** What may join the end of one path to the start of the next inside a sentence ("…, and Site administration › …"). */
const JOIN = /^(?:[,;])?\s+(?:(?:and|en|et|und|sowie|y|or|of|ou|oder|o)\s+)?/;
const SEPARATOR = ' › ';

const catalogs = loadMessageCatalogs();

type Platform = 'moodle' | 'canvas' | 'chamilo';
const TABLES: Record<Platform, Name[]> = { moodle: MOODLE, canvas: CANVAS, chamilo: CHAMILO };

/** The names one path may use: one platform's names (a Moodle path cannot borrow Canvas's "Exporteren"), and the tool's. */
function namesOf(lang: Lang, platform: Platform): string[] {
  const own = TOOL_TITLES.map((key) => catalogs[lang].get(key)!);
  const all = TABLES[platform].map((n) => n[lang]);
  // Longest first, so "Exporteer als CSV-bestand" is tried before "Exporteer".
  return [...new Set([...all, ...own, ...TOOL_PHRASES[lang]])].sort((a, b) => b.length - a.length);
}

/** The unknown segments of `text` for the platform that explains it best (none when one platform explains it all). */
function problemsIn(text: string, lang: Lang): string[] {
  const tries = (Object.keys(TABLES) as Platform[]).map((p) => unknownSegments(text, namesOf(lang, p)));
  return tries.reduce((best, t) => (t.length < best.length ? t : best));
}

const isPlaceholder = (s: string) => /^\{\w+\}$/.test(s);

/** The segments of every "›" path in `text` that are not one of `names`; empty when the paths are all made of names. */
function unknownSegments(text: string, names: string[]): string[] {
  if (!text.includes(SEPARATOR)) return [];
  const chunks = text.split(SEPARATOR);
  const bad: string[] = [];
  const known = (s: string) => names.includes(s) || isPlaceholder(s);
  // The first chunk ends with a name (after a space, "(", a quote, or the start of the text).
  const first = chunks[0];
  if (!names.some((n) => first.endsWith(n) && /(?:^|[\s(“„«"'/])$/.test(first.slice(0, first.length - n.length)))) bad.push(first.slice(-40));
  // The last chunk starts with a name (then the end, punctuation, or a space).
  const last = chunks[chunks.length - 1];
  const lastOk = (s: string) =>
    isPlaceholder(s.split(/[\s).,;:]/)[0]) || names.some((n) => s.startsWith(n) && /^(?:$|[).,;:]|\s)/.test(s.slice(n.length)));
  if (!lastOk(last)) bad.push(last.slice(0, 40));
  // A middle chunk is one name, or the last name of a path, a join, and the first name of the next path.
  for (const mid of chunks.slice(1, -1)) {
    if (known(mid)) continue;
    const split = names.some((n) => {
      if (!mid.startsWith(n)) return false;
      const rest = mid.slice(n.length);
      const join = JOIN.exec(rest);
      if (!join || join[0] === '') return false;
      const next = rest.slice(join[0].length);
      return names.some((m) => next.endsWith(m) && /(?:^|[\s(“„«"'/])$/.test(next.slice(0, next.length - m.length)));
    });
    if (!split) bad.push(mid);
  }
  return bad;
}

describe('LMS menu names in messages', () => {
  it('have one spelling per menu item and language (no two items share a name unless the platforms do)', () => {
    for (const table of [MOODLE, CANVAS, CHAMILO]) {
      const ids = table.map((n) => n.id);
      expect(new Set(ids).size, 'string ids are unique').to.equal(ids.length);
      for (const lang of LANGUAGES) {
        const values = table.map((n) => n[lang]);
        expect(values.every((v) => v.trim() === v && v.length > 0), `${lang}: names are trimmed and not empty`).to.equal(true);
      }
    }
  });

  for (const lang of LANGUAGES) {
    it(`every "›" path in the ${lang} messages is made of the platforms' own ${lang} names`, () => {
      const problems: string[] = [];
      for (const [key, text] of catalogs[lang]) {
        for (const segment of problemsIn(text, lang)) problems.push(`${key}: “${segment}”`);
      }
      expect(problems, `segments not in the ${lang} list of checked names`).to.deep.equal([]);
    });
  }

  it('translate each English path level by level (same number of "›" in every language)', () => {
    const count = (s: string) => s.split(SEPARATOR).length - 1;
    const differ: string[] = [];
    for (const [key, text] of catalogs.en) {
      if (!text.includes(SEPARATOR)) continue;
      for (const lang of LANGUAGES) {
        const other = catalogs[lang].get(key) ?? '';
        if (count(other) !== count(text)) differ.push(`${lang} ${key}: ${count(other)} vs ${count(text)}`);
      }
    }
    expect(differ).to.deep.equal([]);
  });

  it('catches a guessed name (the check itself)', () => {
    const nl = (text: string) => problemsIn(text, 'nl');
    expect(nl('(Site-beheer › Server › Webservices › Beheer tokens)')).to.deep.equal(['(Site-beheer']);
    expect(nl('(Sitebeheer › Gebruikers › Permissies › Definieer rollen)')).to.deep.equal(['Permissies']);
    expect(nl('Moodle: Cijfers › Exporteren › Tekstbestand.')).to.deep.equal(['Exporteren']);
    expect(nl('Chamilo: Beoordelingen › Exporteren (de platte weergave).')).to.have.length.above(0);
    expect(nl('(Sitebeheer › Algemeen › Geavanceerd › Webservices inschakelen, en Sitebeheer › Server › Webservices › Beheer protocols › REST protocol)')).to.deep.equal([]);
    expect(problemsIn('(Website-Administration › Nutzer/innen › Rechte ändern › Rollen verwalten)', 'de')).to.deep.equal(['Rechte ändern']);
    expect(problemsIn('Moodle: Bewertungen › Export › Textdatei.', 'de')).to.deep.equal([]);
  });
});
