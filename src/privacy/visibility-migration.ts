/**
 * Certificates issued before `publicAtIssue` existed get it once, from their definition's
 * visibility at the time of the upgrade (the best that is known; from then on every certificate
 * records the visibility it was issued under, and a later switch to public never exposes it).
 */
import type { Connection } from 'mongoose';
import { definitionModel } from '../certificates/definition.model';
import { issueModel } from '../certificates/issue.model';

export async function backfillPublicAtIssue(conn: Connection): Promise<number> {
  const Issue = issueModel(conn);
  const missing = { publicAtIssue: { $exists: false } };
  const definitionIds = await Issue.distinct('definitionId', missing);
  if (definitionIds.length === 0) return 0;
  const publicIds = (await definitionModel(conn).find({ _id: { $in: definitionIds }, public: true }, { _id: 1 }).lean()).map((d) => d._id);
  const [opened, closed] = await Promise.all([
    Issue.updateMany({ ...missing, definitionId: { $in: publicIds } }, { $set: { publicAtIssue: true } }),
    Issue.updateMany({ ...missing, definitionId: { $nin: publicIds } }, { $set: { publicAtIssue: false } }),
  ]);
  return opened.modifiedCount + closed.modifiedCount;
}
