/**
 * Deciding whether a learner has completed a programme (pure: completions in, decision out).
 * ALM's rule: a certification with mandatory courses is done when at least N of them are
 * completed (N = all of them unless the administrator chose fewer); optional courses are shown
 * but never needed.
 */
import type { Types } from 'mongoose';
import { addMonths } from '../certificates/certificate-state';
import type { CertificationValidity, Programme } from './certification.model';

/** One completed course: a valid course certificate, or the LMS's course completion. */
export interface Completion {
  courseId: string;
  completedAt: Date;
  via: 'certificate' | 'lms';
  issueId?: Types.ObjectId;
}

export interface ProgrammeDecision {
  complete: boolean;
  /** How many mandatory courses are needed, and how many are completed. */
  needed: number;
  done: number;
  /** Mandatory courses not completed yet (ids), in programme order. */
  missing: string[];
  /** The completions it rests on (the `needed` earliest mandatory ones), when complete. */
  basis: Completion[];
  /** When it became complete: the latest date among `basis`. */
  completedAt: Date | null;
}

/** The number of mandatory courses a programme needs. */
export function neededOf(programme: Programme): number {
  const mandatory = programme.courses.filter((c) => c.mandatory).length;
  return programme.minimumMandatory === null ? mandatory : Math.min(programme.minimumMandatory, mandatory);
}

/**
 * The decision for one learner. `since`: only completions dated on or after it count (renewal:
 * completing again after the renewal window opened).
 */
export function evaluateProgramme(programme: Programme, completions: readonly Completion[], since?: Date): ProgrammeDecision {
  const latest = new Map<string, Completion>();
  for (const c of completions) {
    if (since && c.completedAt.getTime() < since.getTime()) continue;
    const had = latest.get(c.courseId);
    if (!had || had.completedAt.getTime() < c.completedAt.getTime()) latest.set(c.courseId, c);
  }
  const mandatory = programme.courses.filter((c) => c.mandatory).map((c) => String(c.courseId));
  const done = mandatory.map((id) => latest.get(id)).filter((c): c is Completion => c !== undefined);
  const needed = neededOf(programme);
  const missing = mandatory.filter((id) => !latest.has(id));
  if (done.length < needed || needed === 0) return { complete: false, needed, done: done.length, missing, basis: [], completedAt: null };
  const basis = [...done].sort((a, b) => a.completedAt.getTime() - b.completedAt.getTime()).slice(0, needed);
  return { complete: true, needed, done: done.length, missing, basis, completedAt: basis[basis.length - 1]!.completedAt };
}

/** When an award completed at `completedAt` expires (null: perpetual). */
export function expiryOf(validity: CertificationValidity, completedAt: Date): Date | null {
  return validity.kind === 'recurring' ? addMonths(completedAt, validity.validForMonths) : null;
}

/** When renewal opens for an award expiring at `expiresAt` (null: never, perpetual). */
export function renewalOpensAt(validity: CertificationValidity, expiresAt: Date | null): Date | null {
  if (validity.kind !== 'recurring' || !expiresAt) return null;
  return new Date(expiresAt.getTime() - validity.renewalWindowDays * 24 * 60 * 60 * 1000);
}
