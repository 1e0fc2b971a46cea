/**
 * The same assertions against whichever engine the test run uses (offline engine here,
 * a real mongod or TEST_MONGODB_URI elsewhere): what the application relies on must behave
 * like MongoDB.
 */
import { expect } from 'chai';
import mongoose, { Schema } from 'mongoose';
import { connectTestDatabase } from '../support/db';
import type { Database } from '../../src/db/connect';

describe('database compatibility', () => {
  let db: Database;
  before(async () => {
    db = await connectTestDatabase();
  });
  after(async () => {
    await db.close();
  });

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

    it('refuses a second document with the same unique key with code 11000', async () => {
      const Person = personModel();
      await Person.init();
      await Person.create({ email: 'dup@example.edu' });
      const err = await Person.create({ email: 'dup@example.edu' }).then(
        () => undefined,
        (e: unknown) => e as { code?: number; keyValue?: unknown; keyPattern?: unknown },
      );
      expect(err?.code).to.equal(11000);
      expect(err?.keyValue).to.deep.equal({ email: 'dup@example.edu' });
      expect(err?.keyPattern).to.deep.equal({ email: 1 });
      expect(await Person.countDocuments({ email: 'dup@example.edu' })).to.equal(1);
    });

    it('upserts with $setOnInsert only on insert', async () => {
      const Person = personModel();
      const first = await Person.findOneAndUpdate(
        { email: 'up@example.edu' },
        { $setOnInsert: { name: 'First' }, $inc: { visits: 1 } },
        { upsert: true, new: true },
      ).lean();
      expect(first).to.include({ email: 'up@example.edu', name: 'First', visits: 1 });
      const second = await Person.findOneAndUpdate(
        { email: 'up@example.edu' },
        { $setOnInsert: { name: 'Second' }, $inc: { visits: 1 } },
        { upsert: true, new: true },
      ).lean();
      expect(second).to.include({ name: 'First', visits: 2 });
      expect(String(second?._id)).to.equal(String(first?._id));
    });
  });

  it('keeps the default mongoose connection untouched', () => {
    expect(mongoose.connection.readyState).to.equal(0);
  });
});
