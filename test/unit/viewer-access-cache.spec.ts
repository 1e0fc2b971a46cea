/**
 * The downloads' permission cache (src/certificates/viewer-access.cache.ts): a permission is
 * remembered per viewer and certificate for VIEWER_ACCESS_CACHE_MS, forgotten by any certificate
 * write, and a read that a write overtook is never remembered.
 */
import { expect } from 'chai';
import { Types, type Connection } from 'mongoose';
import type { IssueDoc } from '../../src/certificates/issue.model';
import { VIEWER_ACCESS_CACHE_MS, cachedViewerAccess, forgetViewerAccess, rememberViewerAccess, viewerAccessEpoch } from '../../src/certificates/viewer-access.cache';

const courseId = new Types.ObjectId();
const issue = { _id: new Types.ObjectId(), courseId, userId: 'bilbo', status: 'active' } as unknown as IssueDoc;
const learner = { courseId, role: 'learner', userId: 'bilbo' };
const id = String(issue._id);
// the cache is per connection; any object stands for one here
const connection = () => ({}) as Connection;

describe('viewer-access.cache', () => {
  it('remembers a permission for this viewer and this certificate only, for VIEWER_ACCESS_CACHE_MS', () => {
    const conn = connection();
    rememberViewerAccess(conn, learner, issue, viewerAccessEpoch(conn), 1_000);
    expect(cachedViewerAccess(conn, learner, id, 1_000 + VIEWER_ACCESS_CACHE_MS - 1)).to.equal(issue);
    expect(cachedViewerAccess(conn, { ...learner, userId: 'frodo' }, id, 1_000)).to.equal(undefined);
    expect(cachedViewerAccess(conn, { ...learner, role: 'teacher' }, id, 1_000)).to.equal(undefined);
    expect(cachedViewerAccess(conn, { ...learner, courseId: new Types.ObjectId() }, id, 1_000)).to.equal(undefined);
    expect(cachedViewerAccess(conn, learner, String(new Types.ObjectId()), 1_000)).to.equal(undefined);
    expect(cachedViewerAccess(connection(), learner, id, 1_000)).to.equal(undefined);
    expect(cachedViewerAccess(conn, learner, id, 1_000 + VIEWER_ACCESS_CACHE_MS)).to.equal(undefined);
  });

  it('forgets every permission when a certificate is written', () => {
    const conn = connection();
    rememberViewerAccess(conn, learner, issue, viewerAccessEpoch(conn));
    forgetViewerAccess(conn);
    expect(cachedViewerAccess(conn, learner, id)).to.equal(undefined);
  });

  it('does not remember a read that a certificate write overtook', () => {
    const conn = connection();
    const epoch = viewerAccessEpoch(conn); // the read starts
    forgetViewerAccess(conn); // a revocation is written meanwhile
    rememberViewerAccess(conn, learner, issue, epoch); // the read, from before the revocation, ends
    expect(cachedViewerAccess(conn, learner, id)).to.equal(undefined);
  });
});
