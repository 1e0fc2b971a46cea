/**
 * connectDatabase: which engine it picks, what the URI looks like, and how it fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../src/config';
import { connectDatabase, describeHosts, findLocalMongod, pingDatabase, withDatabaseName, type Database } from '../../src/db/connect';
import { setLogLevel } from '../../src/logger';

describe('connectDatabase', () => {
  let dataDir: string;
  const open: Database[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'connect-'));
    setLogLevel('error');
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    setLogLevel('info');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the offline engine with its journal under DATA_DIR/offline and names the database in the URI', async () => {
    const db = await connectDatabase({ dataDir, embeddedDb: 'offline' }, { dbName: 'certs' });
    open.push(db);
    expect(db.engine).to.equal('offline');
    expect(db.uri).to.match(/^mongodb:\/\/127\.0\.0\.1:\d+\/certs$/);
    expect(db.connection.name).to.equal('certs');
    expect(await pingDatabase(db)).to.equal(true);
    await db.connection.db!.collection('kept').insertOne({ v: 1 });
    expect(existsSync(join(dataDir, 'offline', 'journal.bsonl'))).to.equal(true);
  });

  it('keeps data across close and a new connectDatabase on the same DATA_DIR', async () => {
    const first = await connectDatabase({ dataDir, embeddedDb: 'offline' });
    await first.connection.db!.collection('kept').insertOne({ v: 'still here' });
    await first.close();
    expect(await pingDatabase(first)).to.equal(false);
    const second = await connectDatabase({ dataDir, embeddedDb: 'offline' });
    open.push(second);
    expect(await second.connection.db!.collection('kept').findOne({}, { projection: { _id: 0 } })).to.deep.equal({ v: 'still here' });
  });

  it("falls back from 'auto' to the offline engine quickly when mongod cannot be had", async function () {
    if (await findLocalMongod()) this.skip(); // a machine with mongod would (rightly) use it
    const started = Date.now();
    const db = await connectDatabase({ dataDir, embeddedDb: 'auto' }, { canDownload: async () => false });
    open.push(db);
    expect(db.engine).to.equal('offline');
    expect(Date.now() - started).to.be.lessThan(3000);
  });

  it("stays with the offline engine under 'auto' once DATA_DIR/offline holds data, without looking for mongod", async () => {
    const first = await connectDatabase({ dataDir, embeddedDb: 'offline' });
    await first.connection.db!.collection('kept').insertOne({ v: 1 });
    await first.close();
    let asked = false;
    const db = await connectDatabase({ dataDir, embeddedDb: 'auto' }, { canDownload: async () => (asked = true) && false });
    open.push(db);
    expect(db.engine).to.equal('offline');
    expect(asked).to.equal(false);
    expect(await db.connection.db!.collection('kept').countDocuments()).to.equal(1);
  });

  it("refuses to hide a mongod database behind an empty offline one when mongod cannot start ('auto')", async function () {
    if (await findLocalMongod()) this.skip();
    mkdirSync(join(dataDir, 'mongod'));
    writeFileSync(join(dataDir, 'mongod', 'WiredTiger'), '');
    const err = await connectDatabase({ dataDir, embeddedDb: 'auto' }, { canDownload: async () => false }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.include('EMBEDDED_DB=offline');
  });

  it('fails within about 5 seconds with a ConfigError naming MONGODB_URI and the host', async function () {
    this.timeout(15_000);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await connectDatabase({ mongodbUri: `mongodb://user:secret@127.0.0.1:${port}/x`, dataDir, embeddedDb: 'auto' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).to.include('MONGODB_URI').and.include(`127.0.0.1:${port}`).and.not.include('secret');
    expect(message.split('\n')).to.have.length(1);
    expect(Date.now() - started).to.be.within(4000, 8000);
  });
});

describe('withDatabaseName / describeHosts', () => {
  it('adds the name only where the URI has none', () => {
    expect(withDatabaseName('mongodb://h:1', 'd')).to.equal('mongodb://h:1/d');
    expect(withDatabaseName('mongodb://h:1/', 'd')).to.equal('mongodb://h:1/d');
    expect(withDatabaseName('mongodb://h:1/?replicaSet=r', 'd')).to.equal('mongodb://h:1/d?replicaSet=r');
    expect(withDatabaseName('mongodb://h:1/mine?w=1', 'd')).to.equal('mongodb://h:1/mine?w=1');
    expect(withDatabaseName('mongodb+srv://u:p@cluster.example.net', 'd')).to.equal('mongodb+srv://u:p@cluster.example.net/d');
  });

  it('names the hosts without credentials', () => {
    expect(describeHosts('mongodb://u:p@a:1,b:2/db?x=1')).to.equal('a:1,b:2');
  });
});
