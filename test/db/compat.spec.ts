/**
 * The same assertions against whichever engine the test run uses (the offline engine here;
 * a real mongod, or the MongoDB named by MONGODB_URI / TEST_MONGODB_URI, where one exists): what
 * the application and ltijs rely on must behave like MongoDB. `MONGODB_URI=mongodb://… npm run
 * test:file -- test/db/compat.spec.ts` checks a real server (README, "The database").
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import mongoose, { Schema } from 'mongoose';
import { sharedTestEngine, useTestDatabase } from '../support/db';

interface ServerError {
  code?: number;
  codeName?: string;
  message: string;
  keyValue?: unknown;
  keyPattern?: unknown;
  writeErrors?: { index: number; code: number }[];
  result?: { insertedCount?: number; nInserted?: number };
  insertedDocs?: unknown[];
}

/** The rejection of `p` (fails the test if it resolves). */
async function rejectionOf(p: Promise<unknown>): Promise<ServerError> {
  try {
    await p;
  } catch (e) {
    return e as ServerError;
  }
  throw new Error('expected the operation to fail, it succeeded');
}

describe('database compatibility (any engine)', () => {
  const db = useTestDatabase();
  const coll = (name: string) => db.connection.db!.collection(name);

  interface Person {
    email: string;
    name?: string;
    visits?: number;
    tags: string[];
  }
  const personModel = (): mongoose.Model<Person> =>
    (db.connection.models.Person as mongoose.Model<Person> | undefined) ??
    db.connection.model<Person>('Person', new Schema<Person>({ email: { type: String, required: true, unique: true }, name: String, visits: Number, tags: [String] }));

  describe('CRUD through mongoose', () => {
    it('creates, reads, updates and deletes a document', async () => {
      const Person = personModel();
      await Person.init();
      const created = await Person.create({ email: 'ada@example.edu', name: 'Ada', visits: 1 });
      const found = await Person.findById(created._id).lean();
      expect(found).to.include({ email: 'ada@example.edu', name: 'Ada', visits: 1 });

      await Person.updateOne({ email: 'ada@example.edu' }, { $inc: { visits: 2 }, $push: { tags: 'math' }, $set: { name: 'Ada L.' } });
      const updated = await Person.findOne({ email: 'ada@example.edu' }).lean();
      expect(updated).to.include({ name: 'Ada L.', visits: 3 });
      expect(updated?.tags).to.deep.equal(['math']);

      const res = await Person.deleteOne({ _id: created._id });
      expect(res.deletedCount).to.equal(1);
      expect(await Person.findById(created._id)).to.equal(null);
    });

    it('refuses a second document with the same unique key with code 11000, keyPattern and keyValue', async () => {
      const Person = personModel();
      await Person.init();
      await Person.create({ email: 'dup@example.edu' });
      const err = await rejectionOf(Person.create({ email: 'dup@example.edu' }));
      expect(err.code).to.equal(11000);
      expect(err.keyValue).to.deep.equal({ email: 'dup@example.edu' });
      expect(err.keyPattern).to.deep.equal({ email: 1 });
      expect(err.message).to.match(/^E11000 duplicate key error collection: .*people index: email_1 dup key/);
      expect(await Person.countDocuments({ email: 'dup@example.edu' })).to.equal(1);
    });

    it('refuses an update that would duplicate a unique key, and leaves the document as it was', async () => {
      const Person = personModel();
      await Person.init();
      await Person.create([{ email: 'u1@example.edu', name: 'one' }, { email: 'u2@example.edu', name: 'two' }]);
      const err = await rejectionOf(Person.updateOne({ email: 'u2@example.edu' }, { $set: { email: 'u1@example.edu', name: 'changed' } }));
      expect(err.code).to.equal(11000);
      expect(await Person.findOne({ email: 'u2@example.edu' }).lean()).to.include({ name: 'two' });
    });

    it('upserts with $setOnInsert only on insert', async () => {
      const Person = personModel();
      const first = await Person.findOneAndUpdate({ email: 'up@example.edu' }, { $setOnInsert: { name: 'First' }, $inc: { visits: 1 } }, { upsert: true, new: true }).lean();
      expect(first).to.include({ email: 'up@example.edu', name: 'First', visits: 1 });
      const second = await Person.findOneAndUpdate({ email: 'up@example.edu' }, { $setOnInsert: { name: 'Second' }, $inc: { visits: 1 } }, { upsert: true, new: true }).lean();
      expect(second).to.include({ name: 'First', visits: 2 });
      expect(String(second?._id)).to.equal(String(first?._id));
    });
  });

  describe('update operators', () => {
    it('applies $set $unset $inc $push $addToSet $pull $min $max and arrayFilters', async () => {
      const c = coll('operators');
      await c.insertOne({ _id: 'a' as never, n: 5, gone: 1, list: [1, 2, 3], set: ['x'], lo: 10, hi: 10, items: [{ k: 'a', v: 1 }, { k: 'b', v: 1 }] });
      await c.updateOne({ _id: 'a' as never }, { $set: { 'deep.er': true }, $unset: { gone: '' }, $inc: { n: -2 }, $push: { list: 4 }, $addToSet: { set: { $each: ['x', 'y'] } }, $min: { lo: 3 }, $max: { hi: 30 } });
      await c.updateOne({ _id: 'a' as never }, { $pull: { list: { $gte: 3 } } });
      await c.updateOne({ _id: 'a' as never }, { $set: { 'items.$[it].v': 9 } }, { arrayFilters: [{ 'it.k': 'b' }] });
      const doc = await c.findOne({ _id: 'a' as never });
      expect(doc).to.deep.equal({ _id: 'a', n: 3, list: [1, 2], set: ['x', 'y'], lo: 3, hi: 30, deep: { er: true }, items: [{ k: 'a', v: 1 }, { k: 'b', v: 9 }] });
    });

    it('updates many documents, replaces one, and reports matched and modified counts', async () => {
      const c = coll('many');
      await c.insertMany([{ g: 1, v: 0 }, { g: 1, v: 0 }, { g: 2, v: 0 }]);
      const many = await c.updateMany({ g: 1 }, { $set: { v: 1 } });
      expect([many.matchedCount, many.modifiedCount]).to.deep.equal([2, 2]);
      const again = await c.updateMany({ g: 1 }, { $set: { v: 1 } });
      expect([again.matchedCount, again.modifiedCount]).to.deep.equal([2, 0]);
      const target = await c.findOne({ g: 2 });
      await c.replaceOne({ _id: target!._id }, { g: 3, replaced: true });
      expect(await c.findOne({ _id: target!._id })).to.deep.equal({ _id: target!._id, g: 3, replaced: true });
      const up = await c.updateOne({ g: 9 }, { $set: { v: 5 } }, { upsert: true });
      expect(up.upsertedCount).to.equal(1);
      expect(await c.findOne({ _id: up.upsertedId! })).to.include({ g: 9, v: 5 });
    });

    it('applies a pipeline-style update', async () => {
      const c = coll('pipeline_update');
      await c.insertOne({ _id: 'p' as never, a: 2, b: 3 });
      await c.updateOne({ _id: 'p' as never }, [{ $set: { total: { $add: ['$a', '$b'] } } }, { $unset: 'b' }]);
      expect(await c.findOne({ _id: 'p' as never })).to.deep.equal({ _id: 'p', a: 2, total: 5 });
    });

    it('finds and modifies with sort, projection, remove and return of the old or new document', async () => {
      const c = coll('fam');
      await c.insertMany([{ q: 1, n: 1 }, { q: 1, n: 2 }, { q: 1, n: 3 }]);
      const before = await c.findOneAndUpdate({ q: 1 }, { $inc: { n: 10 } }, { sort: { n: -1 }, projection: { _id: 0, n: 1 }, returnDocument: 'before' });
      expect(before.value).to.deep.equal({ n: 3 });
      const after = await c.findOneAndUpdate({ q: 1 }, { $inc: { n: 100 } }, { sort: { n: 1 }, returnDocument: 'after' });
      expect(after.value?.n).to.equal(101);
      const removed = await c.findOneAndDelete({ q: 1 }, { sort: { n: -1 } });
      expect(removed.value?.n).to.equal(101);
      expect((await c.find({}).sort({ n: 1 }).toArray()).map((d) => d.n)).to.deep.equal([2, 13]);
    });

    it('refuses changing _id and unknown update operators', async () => {
      const c = coll('refusals');
      await c.insertOne({ _id: 1 as never, v: 1 });
      expect((await rejectionOf(c.updateOne({ _id: 1 as never }, { $set: { _id: 2 } }))).code).to.equal(66);
      expect((await rejectionOf(c.updateOne({ _id: 1 as never }, { $frobnicate: { v: 2 } } as never))).code).to.be.a('number');
      expect(await c.findOne({ _id: 1 as never })).to.deep.equal({ _id: 1, v: 1 });
    });

    it('refuses an unknown query operator instead of matching nothing', async () => {
      const err = await rejectionOf(coll('refusals').find({ v: { $frobnicate: 1 } } as never).toArray());
      expect(err.code).to.be.a('number');
    });
  });

  describe('bulkWrite with a duplicate in the middle', () => {
    const ops = (email: string) => [
      { insertOne: { document: { email: `${email}-1` } } },
      { insertOne: { document: { email: `${email}-1` } } },
      { insertOne: { document: { email: `${email}-3` } } },
    ];

    it('ordered: stops at the duplicate, keeps what came before', async () => {
      const c = coll('bulk_ordered');
      await c.createIndex({ email: 1 }, { unique: true });
      const err = await rejectionOf(c.bulkWrite(ops('o'), { ordered: true }));
      expect(err.code).to.equal(11000);
      expect(err.writeErrors?.map((w) => w.index)).to.deep.equal([1]);
      expect((await c.find({}).toArray()).map((d) => d.email)).to.deep.equal(['o-1']);
    });

    it('unordered: writes everything else and reports the one error', async () => {
      const c = coll('bulk_unordered');
      await c.createIndex({ email: 1 }, { unique: true });
      const err = await rejectionOf(c.bulkWrite(ops('u'), { ordered: false }));
      expect(err.writeErrors?.map((w) => [w.index, w.code])).to.deep.equal([[1, 11000]]);
      expect((await c.find({}).sort({ email: 1 }).toArray()).map((d) => d.email)).to.deep.equal(['u-1', 'u-3']);
    });

    it('mixes inserts, upserts, updates and deletes in one call', async () => {
      const c = coll('bulk_mixed');
      const res = await c.bulkWrite([
        { insertOne: { document: { k: 1 } } },
        { updateOne: { filter: { k: 2 }, update: { $set: { v: 'new' } }, upsert: true } },
        { updateOne: { filter: { k: 1 }, update: { $set: { v: 'changed' } } } },
        { deleteOne: { filter: { k: 1 } } },
      ]);
      expect([res.insertedCount, res.upsertedCount, res.modifiedCount, res.deletedCount]).to.deep.equal([1, 1, 1, 1]);
      expect(await c.find({}, { projection: { _id: 0 } }).toArray()).to.deep.equal([{ k: 2, v: 'new' }]);
    });
  });

  describe('indexes', () => {
    it('enforces a compound unique index with code 11000 and lists it', async () => {
      const c = coll('compound');
      await c.createIndex({ course: 1, user: 1 }, { unique: true, name: 'course_user' });
      await c.insertMany([{ course: 'c1', user: 'u1' }, { course: 'c1', user: 'u2' }, { course: 'c2', user: 'u1' }]);
      const err = await rejectionOf(c.insertOne({ course: 'c1', user: 'u2' }));
      expect(err.code).to.equal(11000);
      expect(err.keyPattern).to.deep.equal({ course: 1, user: 1 });
      expect(err.keyValue).to.deep.equal({ course: 'c1', user: 'u2' });
      const names = (await c.listIndexes().toArray()).map((i) => i.name);
      expect(names).to.deep.equal(['_id_', 'course_user']);
    });

    it('refuses to build a unique index over existing duplicates', async () => {
      const c = coll('late_unique');
      await c.insertMany([{ k: 1 }, { k: 1 }]);
      expect((await rejectionOf(c.createIndex({ k: 1 }, { unique: true }))).code).to.equal(11000);
    });

    it('lets a sparse unique index hold many documents without the field', async () => {
      const c = coll('sparse');
      await c.createIndex({ code: 1 }, { unique: true, sparse: true });
      await c.insertMany([{ a: 1 }, { a: 2 }, { code: 'X' }]);
      expect((await rejectionOf(c.insertOne({ code: 'X' }))).code).to.equal(11000);
    });

    it('applies a partialFilterExpression to uniqueness', async () => {
      const c = coll('partial');
      await c.createIndex({ user: 1 }, { unique: true, partialFilterExpression: { active: true } });
      await c.insertMany([{ user: 'u', active: false }, { user: 'u', active: false }, { user: 'u', active: true }]);
      expect((await rejectionOf(c.insertOne({ user: 'u', active: true }))).code).to.equal(11000);
    });

    it('changes a TTL with collMod and drops an index by name', async () => {
      const c = coll('collmod');
      await c.createIndex({ at: 1 }, { expireAfterSeconds: 60, name: 'at_ttl' });
      await db.connection.db!.command({ collMod: 'collmod', index: { name: 'at_ttl', expireAfterSeconds: 120 } });
      expect((await c.listIndexes().toArray()).find((i) => i.name === 'at_ttl')?.expireAfterSeconds).to.equal(120);
      await c.dropIndex('at_ttl');
      expect((await c.listIndexes().toArray()).map((i) => i.name)).to.deep.equal(['_id_']);
    });

    it('syncs mongoose schema indexes (creates missing, drops extra)', async () => {
      const c = coll('syncs');
      await c.createIndex({ stale: 1 });
      const M = db.connection.model('Sync', new Schema({ a: { type: String, index: true }, b: { type: String, unique: true } }), 'syncs');
      await M.syncIndexes();
      const names = (await c.listIndexes().toArray()).map((i) => i.name).sort();
      expect(names).to.deep.equal(['_id_', 'a_1', 'b_1']);
    });
  });

  describe('queries and cursors', () => {
    before(async () => {
      const docs = Array.from({ length: 250 }, (_, i) => ({ i, even: i % 2 === 0, group: `g${i % 5}` }));
      await coll('numbers').insertMany(docs);
    });

    it('returns all 250 documents through getMore (more than one batch of 101)', async () => {
      const all = await coll('numbers').find({}).toArray();
      expect(all).to.have.length(250);
      const small = await coll('numbers').find({}, { batchSize: 7 }).toArray();
      expect(small.map((d) => d.i)).to.deep.equal(all.map((d) => d.i));
    });

    it('sorts, skips, limits and projects', async () => {
      const page = await coll('numbers').find({ even: true }, { projection: { _id: 0, i: 1 } }).sort({ i: -1 }).skip(2).limit(3).toArray();
      expect(page).to.deep.equal([{ i: 244 }, { i: 242 }, { i: 240 }]);
    });

    it('counts, counts estimated, and lists distinct values', async () => {
      expect(await coll('numbers').countDocuments({ even: true })).to.equal(125);
      expect(await coll('numbers').countDocuments({}, { skip: 200, limit: 10 })).to.equal(10);
      expect(await coll('numbers').estimatedDocumentCount()).to.equal(250);
      expect((await coll('numbers').distinct('group')).sort()).to.deep.equal(['g0', 'g1', 'g2', 'g3', 'g4']);
    });

    it('aggregates with $group and $lookup across collections', async () => {
      await coll('groups').insertMany([{ _id: 'g0' as never, label: 'zero' }, { _id: 'g1' as never, label: 'one' }]);
      const out = await coll('numbers')
        .aggregate([
          { $match: { group: { $in: ['g0', 'g1'] } } },
          { $group: { _id: '$group', n: { $sum: 1 }, max: { $max: '$i' } } },
          { $lookup: { from: 'groups', localField: '_id', foreignField: '_id', as: 'g' } },
          { $unwind: '$g' },
          { $project: { _id: 1, n: 1, max: 1, label: '$g.label' } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      expect(out).to.deep.equal([
        { _id: 'g0', n: 50, max: 245, label: 'zero' },
        { _id: 'g1', n: 50, max: 246, label: 'one' },
      ]);
    });

    it('returns aggregate results larger than one batch through getMore', async () => {
      const out = await coll('numbers').aggregate([{ $sort: { i: 1 } }], { batchSize: 50 }).toArray();
      expect(out).to.have.length(250);
      expect(out[249]?.i).to.equal(249);
    });
  });

  it('stores 5 MB through GridFS and reads it back byte-identical', async () => {
    const bucket = new mongoose.mongo.GridFSBucket(db.connection.db!, { bucketName: 'files' });
    const data = randomBytes(5 * 1024 * 1024);
    const id = await new Promise<unknown>((resolve, reject) => {
      const upload = bucket.openUploadStream('big.bin', { metadata: { kind: 'test' } });
      upload.once('finish', () => resolve(upload.id));
      upload.once('error', reject);
      upload.end(data);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of bucket.openDownloadStream(id as mongoose.mongo.ObjectId)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(data)).to.equal(true);
    const [file] = await bucket.find({ filename: 'big.bin' }).toArray();
    expect(file?.length).to.equal(data.length);
    await bucket.delete(id as mongoose.mongo.ObjectId);
    expect(await coll('files.chunks').countDocuments()).to.equal(0);
  });

  describe('TTL and ltijs-like usage', () => {
    const nonceModel = () =>
      db.connection.models.Nonce ??
      db.connection.model('Nonce', new Schema({ nonce: { type: String, required: true, unique: true }, createdAt: { type: Date, expires: 1, default: Date.now } }));

    it('creates a TTL index from mongoose `expires` and keeps the unique nonce', async () => {
      const Nonce = nonceModel();
      await Nonce.init();
      const indexes = await coll('nonces').listIndexes().toArray();
      expect(indexes.find((i) => i.key.createdAt === 1)?.expireAfterSeconds).to.equal(1);
      await Nonce.create({ nonce: 'n-1' });
      expect((await rejectionOf(Nonce.create({ nonce: 'n-1' }))).code).to.equal(11000);
    });

    it('removes an expired document', async function () {
      const engine = sharedTestEngine();
      // a real mongod's TTL monitor runs once a minute; the offline engine sweeps every 100 ms in tests
      if (!engine.offline) this.skip();
      const Nonce = nonceModel();
      await Nonce.init();
      await Nonce.create({ nonce: 'old', createdAt: new Date(Date.now() - 5000) });
      await Nonce.create({ nonce: 'fresh', createdAt: new Date(Date.now() + 60_000) });
      const deadline = Date.now() + 3000;
      while ((await Nonce.countDocuments({ nonce: 'old' })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await Nonce.countDocuments({ nonce: 'old' })).to.equal(0);
      expect(await Nonce.countDocuments({ nonce: 'fresh' })).to.equal(1);
    });

    it('upserts a whole document by key the way ltijs stores platforms', async () => {
      const c = coll('platforms');
      await c.createIndex({ platformUrl: 1, clientId: 1 }, { unique: true });
      await c.replaceOne({ platformUrl: 'https://lms', clientId: 'abc' }, { platformUrl: 'https://lms', clientId: 'abc', name: 'v1' }, { upsert: true });
      await c.replaceOne({ platformUrl: 'https://lms', clientId: 'abc' }, { platformUrl: 'https://lms', clientId: 'abc', name: 'v2' }, { upsert: true });
      const all = await c.find({}, { projection: { _id: 0 } }).toArray();
      expect(all).to.deep.equal([{ platformUrl: 'https://lms', clientId: 'abc', name: 'v2' }]);
    });
  });

  it('creates, lists, renames and drops collections', async () => {
    const handle = db.connection.db!;
    await handle.createCollection('made');
    expect((await rejectionOf(handle.createCollection('made'))).code).to.equal(48);
    await handle.collection('made').insertOne({ v: 1 });
    await handle.renameCollection('made', 'renamed');
    const names = (await handle.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names).to.include('renamed').and.not.include('made');
    expect(await handle.collection('renamed').countDocuments()).to.equal(1);
    await handle.dropCollection('renamed');
    expect((await handle.listCollections({ name: 'renamed' }).toArray()).length).to.equal(0);
    const dbs = await handle.admin().listDatabases({ nameOnly: true });
    expect(dbs.databases.map((d) => d.name)).to.include(handle.databaseName);
  });

  describe('refusals', () => {
    it('answers an unknown command with code 59 (CommandNotFound)', async () => {
      const err = await rejectionOf(db.connection.db!.command({ frobnicateEverything: 1 }));
      expect(err.code).to.equal(59);
      expect(err.message).to.include('frobnicateEverything');
    });

    it('refuses a multi-document transaction and writes nothing', async () => {
      const c = coll('txn');
      await c.insertOne({ before: true });
      const session = db.connection.getClient().startSession();
      try {
        const err = await rejectionOf(session.withTransaction(async () => {
          await c.insertOne({ inside: true }, { session });
        }));
        expect(err.code).to.equal(20);
        expect(err.message).to.match(/Transaction numbers are only allowed on a replica set member or mongos/);
      } finally {
        await session.endSession();
      }
      expect(await c.countDocuments({ inside: true })).to.equal(0);
    });
  });
});
