import { startTestApp, type TestApp } from '../support/app';
import { countCommands, describeCommands } from '../support/db-commands';
import { launchAs, sandboxCourse } from '../support/e2e';

describe('probe', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  it('counts', async () => {
    const c = sandboxCourse(t, { scores: [[5, 6, 7, 8, 9], [1, 2, 3, 4, 5]] });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    await launchAs(t, c.course.id, c.learnerIds[0]!);
    for (let i = 0; i < 2; i++) {
      const { commands } = await countCommands(t.db.connection, () => launchAs(t, c.course.id, c.learnerIds[1]!));
      console.log(commands.length, describeCommands(commands));
    }
  });
});
