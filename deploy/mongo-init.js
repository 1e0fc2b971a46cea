// One-shot (mongosh, as the root user on mongo1): initiate the replica set rs0 with the three
// members if it is not yet, wait for a primary, and create the tool's database user. Safe to re-run.
const members = [
  { _id: 0, host: 'mongo1:27017', priority: 2 },
  { _id: 1, host: 'mongo2:27017', priority: 1 },
  { _id: 2, host: 'mongo3:27017', priority: 1 },
];
try {
  rs.status();
  print('replica set rs0 already initiated');
} catch (e) {
  if (e.codeName !== 'NotYetInitialized') throw e;
  rs.initiate({ _id: 'rs0', members });
  print('replica set rs0 initiated');
}
for (let i = 0; i < 60 && !db.hello().isWritablePrimary; i++) sleep(1000);
if (!db.hello().isWritablePrimary) {
  // mongo1 has the highest priority, but an election can pick another member first: go there
  const primary = db.hello().primary;
  if (!primary) throw new Error('no primary after 60 s');
  const user = encodeURIComponent(process.env.MONGO_ROOT_USER);
  const pwd = encodeURIComponent(process.env.MONGO_ROOT_PASSWORD);
  db = connect(`mongodb://${user}:${pwd}@${primary}/admin?authSource=admin`);
}
const app = db.getSiblingDB('lti-certificates');
const password = process.env.APP_DB_PASSWORD;
if (!password) throw new Error('APP_DB_PASSWORD is not set');
if (app.getUser('certificates')) {
  app.updateUser('certificates', { pwd: password, roles: [{ role: 'readWrite', db: 'lti-certificates' }] });
  print('user certificates updated');
} else {
  app.createUser({ user: 'certificates', pwd: password, roles: [{ role: 'readWrite', db: 'lti-certificates' }] });
  print('user certificates created');
}
