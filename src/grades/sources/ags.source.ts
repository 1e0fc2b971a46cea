/**
 * The platform's own LTI Advantage services as a grade source: the roster over NRPS, the
 * columns and results over AGS. On every real platform AGS shows only the columns the tool
 * created or that belong to its own resource links (Moodle gradebookservices.php
 * get_lineitems, Canvas line_items_controller.rb, Chamilo LtiLineItemsResource.php): the
 * course's quizzes and assignments come from the other sources.
 */
import type { CourseDoc } from '../../courses/course.model';
import { SourceUnavailableError } from '../../http/platform-errors';
import type { AdvantageClient, AdvantageItemError, AgsResult, NrpsMember } from '../../lti/advantage';
import { toolRoleOf } from '../../lti/roles';
import { inEnglish } from '../../i18n/english';
import type { IncomingMember } from '../grade-writes';
import type { GradeSource, SourceContext, SourceResult } from './grade-source';
import { mapLimit } from './map-limit';

export interface AgsSourceOptions {
  client: AdvantageClient;
  course: Pick<CourseDoc, 'services'>;
}

function toIncomingMember(m: NrpsMember): IncomingMember {
  return {
    userId: m.userId,
    name: m.name,
    givenName: m.givenName,
    familyName: m.familyName,
    email: m.email,
    lisPersonSourcedId: m.lisPersonSourcedId,
    roles: m.roles,
    isLearner: toolRoleOf(m.roles) === 'learner',
    status: m.status === 'deleted' ? 'left' : m.status,
  };
}

/**
 * One malformed item of a page, for the teacher: which kind of item was skipped and where; the
 * details (field names and what the service specifies) stay as the validation wrote them.
 */
function reportItemErrors(ctx: SourceContext, errors: AdvantageItemError[]): void {
  for (const e of errors) {
    const ref = { key: 'grades.syncError.ags.invalidItem', params: { kind: e.kind, detail: e.message, url: e.url } };
    ctx.error(e.kind, `${e.message} (${e.url})`, e.item, ref);
  }
}

/** Scores from AGS results, with the line item's maximum where the platform left the result's out. */
function toSourceResults(ctx: SourceContext, results: AgsResult[], item: { scoreMaximum: number }, url: string): SourceResult[] {
  const scores: SourceResult[] = [];
  for (const r of results) {
    const scoreMaximum = r.resultMaximum ?? item.scoreMaximum;
    if (r.resultScore !== null && r.resultScore > scoreMaximum) {
      const ref = { key: 'grades.syncError.ags.aboveMaximum', params: { score: r.resultScore, max: scoreMaximum, url } };
      ctx.error('invalid_result', inEnglish(ref), r, ref);
      continue;
    }
    scores.push({ userId: r.userId, scoreGiven: r.resultScore, scoreMaximum, timestamp: r.timestamp, comment: r.comment });
  }
  return scores;
}

export function createAgsSource({ client, course }: AgsSourceOptions): GradeSource {
  return {
    kind: 'ags',

    async roster(ctx) {
      const url = course.services.membershipsUrl;
      if (!url) {
        const ref = { key: 'grades.syncError.ags.nrpsUnavailable' };
        throw new SourceUnavailableError(inEnglish(ref), 'nrps_unavailable', ref);
      }
      const members: IncomingMember[] = [];
      const listing = await client.listMembers(url, {
        signal: ctx.signal,
        onPage: async (page) => {
          for (const m of page) members.push(toIncomingMember(m));
          await ctx.rosterProgress(members.length);
        },
      }).catch((err: unknown) => {
        // Even a roster read halfway is worth storing: hand back what was read, as incomplete.
        ctx.failure('roster_failed', err);
        return null;
      });
      if (!listing) return { members, complete: false, failed: true };
      reportItemErrors(ctx, listing.itemErrors);
      // A member we could not read is not a member who left.
      return { members, complete: listing.itemErrors.length === 0 };
    },

    async lineItems(ctx) {
      const url = course.services.lineItemsUrl;
      if (!url) {
        const ref = { key: 'grades.syncError.ags.agsUnavailable' };
        throw new SourceUnavailableError(inEnglish(ref), 'ags_unavailable', ref);
      }
      const listing = await client.listLineItems(url, undefined, { signal: ctx.signal });
      reportItemErrors(ctx, listing.itemErrors);
      return {
        items: listing.map((li) => ({ ...li, externalId: li.id, kind: 'activity' as const })),
        // A line item we could not read is not a line item that was removed.
        complete: listing.itemErrors.length === 0,
      };
    },

    async results(ctx, req, sink) {
      await mapLimit(req.items, req.concurrency, async (item) => {
        if (ctx.signal?.aborted) return;
        let listing: Awaited<ReturnType<AdvantageClient['listResults']>>;
        try {
          listing = await client.listResults(item.externalId, { userId: req.userId, signal: ctx.signal });
        } catch (err) {
          if (ctx.signal?.aborted) return;
          ctx.failure('results_failed', err);
          return;
        }
        reportItemErrors(ctx, listing.itemErrors);
        const results = toSourceResults(ctx, listing, item, item.externalId);
        await sink({ externalId: item.externalId, results, complete: listing.itemErrors.length === 0 && results.length === listing.length });
      });
    },
  };
}
