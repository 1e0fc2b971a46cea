/** Matching a CSV row to the one course member it names (LMS id, SIS id, email, then the file's login). */
import type { Member } from '../member.model';
import type { ParsedRow } from './gradebook-csv';
import type { MatchedBy } from './csv-import.types';

export type RosterEntry = Pick<Member, 'userId' | 'name' | 'email' | 'sisId' | 'lisPersonSourcedId' | 'username' | 'status'>;
type Index = Map<string, RosterEntry[]>;

export function indexRoster(members: RosterEntry[]) {
  const add = (map: Index, key: string | undefined | null, m: RosterEntry) => {
    const k = key?.trim().toLowerCase();
    if (!k) return;
    const list = map.get(k);
    if (list) {
      if (!list.includes(m)) list.push(m);
    } else map.set(k, [m]);
  };
  const byUserId: Index = new Map();
  const bySis: Index = new Map();
  const byEmail: Index = new Map();
  const byUsername: Index = new Map();
  for (const m of members) {
    add(byUserId, m.userId, m);
    add(bySis, m.sisId, m);
    add(bySis, m.lisPersonSourcedId, m);
    add(byEmail, m.email, m);
    add(byUsername, m.username, m);
  }
  return { byUserId, bySis, byEmail, byUsername };
}

/**
 * Finds the one member a row names, trying LMS id, SIS id, email, then the file's login: as a
 * username learned at launch (Chamilo), else as an email, SIS id or user id (Canvas's login is
 * often one of those).
 */
export function matchRow(row: ParsedRow, idx: ReturnType<typeof indexRoster>): { member?: RosterEntry; by?: MatchedBy; ambiguous: boolean } {
  const attempts: Array<[string | undefined | null, Array<[MatchedBy, Index]>]> = [
    [row.userId, [['userId', idx.byUserId]]],
    [row.sisId, [['sisId', idx.bySis]]],
    [row.email, [['email', idx.byEmail]]],
    [
      row.login,
      [
        ['username', idx.byUsername],
        ['login', idx.byEmail],
        ['login', idx.bySis],
        ['login', idx.byUserId],
      ],
    ],
  ];
  let ambiguous = false;
  for (const [value, maps] of attempts) {
    if (!value) continue;
    for (const [by, map] of maps) {
      const found = map.get(value.trim().toLowerCase());
      if (!found) continue;
      if (found.length === 1) return { member: found[0], by, ambiguous: false };
      ambiguous = true;
    }
  }
  return { ambiguous };
}
