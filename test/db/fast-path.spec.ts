/**
 * The offline engine's fast paths must agree with mingo (the reference it bypasses for speed)
 * on every shape they accept, and must decline the shapes they do not handle.
 */
import { expect } from 'chai';
import { ObjectId, type Document } from 'bson';
import { Query, update as mingoUpdate } from 'mingo';
import { applySimpleUpdate, compileEqualityFilter } from '../../src/db/offline/fast-path';
import { cloneDoc } from '../../src/db/offline/update';

const oid = new ObjectId();
const docs: Document[] = [
  { _id: 1, a: 'x', b: 2, n: { c: 'y' } },
  { _id: 2, a: ['x', 'z'], b: 3 },
  { _id: 3, a: [['x']], n: [{ c: 'y' }, { c: 'w' }] },
  { _id: 4, a: 'X', b: 2.0, d: new Date(5), o: oid },
  { _id: 5, b: null },
  { _id: 6 },
];

describe('offline engine fast paths', () => {
  describe('compileEqualityFilter', () => {
    const filters: Document[] = [
      { a: 'x' },
      { a: 'x', b: 2 },
      { b: 2 },
      { 'n.c': 'y' },
      { a: { $eq: 'z' } },
      { $and: [{ a: 'x' }, { b: 3 }] },
      { d: new Date(5) },
      { o: new ObjectId(oid.toHexString()) },
      { _id: 4 },
    ];
    for (const filter of filters) {
      it(`matches like mingo for ${JSON.stringify(filter)}`, () => {
        const fast = compileEqualityFilter(filter);
        expect(fast, 'accepted').to.be.a('function');
        const q = new Query(filter);
        expect(docs.filter((d) => fast!(d)).map((d) => d._id)).to.deep.equal(docs.filter((d) => q.test(d)).map((d) => d._id));
      });
    }

    it('declines null, operators, regexes, arrays, sub-documents and numeric paths', () => {
      for (const f of [{ b: null }, { b: { $gt: 1 } }, { a: /x/ }, { a: ['x'] }, { n: { c: 'y' } }, { 'a.0': 'x' }, { $or: [{ a: 'x' }] }]) {
        expect(compileEqualityFilter(f as Document), JSON.stringify(f)).to.equal(undefined);
      }
    });
  });

  describe('applySimpleUpdate', () => {
    const base: Document = { _id: 1, n: 5, s: 'a', list: [1, 2], set: ['x'], sub: { k: 1 }, d: new Date(10) };
    const updates: Document[] = [
      { $set: { s: 'b', 'sub.k': 2, 'new.deep.path': true } },
      { $unset: { s: '', 'sub.k': '', missing: '', 'gone.deep': '' } },
      { $inc: { n: 2, fresh: 1, 'sub.k': -1 } },
      { $min: { n: 3, d: new Date(5), other: 1 } },
      { $max: { n: 3, s: 'z' } },
      { $push: { list: 3, newList: 'a' } },
      { $push: { list: { $each: [3, 4] } } },
      { $addToSet: { set: { $each: ['x', 'y', 'y'] }, list: 2 } },
    ];
    for (const u of updates) {
      it(`updates like mingo for ${JSON.stringify(u)}`, () => {
        const fast = cloneDoc(base);
        expect(applySimpleUpdate(fast, u), 'accepted').to.equal(true);
        const reference = cloneDoc(base);
        mingoUpdate(reference, u);
        expect(fast).to.deep.equal(reference);
      });
    }

    it('declines positional paths, arrays on the way, modifiers and conflicting paths', () => {
      for (const u of [
        { $set: { 'list.$': 1 } },
        { $set: { 'list.0': 1 } },
        { $set: { 'list.x': 1 } },
        { $push: { list: { $each: [1], $slice: 2 } } },
        { $set: { sub: 1 }, $inc: { 'sub.k': 1 } },
        { $inc: { s: 1 } },
        { $pull: { list: 1 } },
      ]) {
        expect(applySimpleUpdate(cloneDoc(base), u as Document), JSON.stringify(u)).to.equal(false);
      }
    });
  });
});
