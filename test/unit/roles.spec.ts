import { expect } from 'chai';
import { toolRoleOf } from '../../src/lti/roles';

const M = 'http://purl.imsglobal.org/vocab/lis/v2/membership';
const I = 'http://purl.imsglobal.org/vocab/lis/v2/institution/person';
const S = 'http://purl.imsglobal.org/vocab/lis/v2/system/person';

describe('toolRoleOf (who gets which page)', () => {
  const cases: Array<[string, string[], string]> = [
    ['Moodle teacher (full URI)', [`${M}#Instructor`, `${I}#Instructor`], 'teacher'],
    ['Moodle student', [`${M}#Learner`], 'learner'],
    ['Moodle site administrator (institution + system roles only)', [`${I}#Administrator`, `${S}#Administrator`], 'teacher'],
    ['Canvas teaching assistant (sub-role URI)', [`${M}/Instructor#TeachingAssistant`, `${S}#User`], 'teacher'],
    ['Canvas designer', [`${M}#ContentDeveloper`, `${S}#User`], 'teacher'],
    ['Canvas student with institution Student role', [`${M}#Learner`, `${I}#Student`, `${S}#User`], 'learner'],
    ['Chamilo teacher', [`${M}#Instructor`], 'teacher'],
    ['short names (LTI 1.1 style)', ['Instructor'], 'teacher'],
    ['short name Learner', ['Learner'], 'learner'],
    ['LTI 1.1 URN TA', ['urn:lti:role:ims/lis/TeachingAssistant'], 'teacher'],
    ['LTI 1.1 URN learner', ['urn:lti:role:ims/lis/Learner'], 'learner'],
    ['context Administrator', [`${M}#Administrator`], 'teacher'],
    ['mentor only', [`${M}#Mentor`], 'none'],
    ['institution student without a course role', [`${I}#Student`], 'none'],
    ['system User only', [`${S}#User`], 'none'],
    ['no roles at all', [], 'none'],
    ['learner and instructor at once (teacher wins)', [`${M}#Learner`, `${M}#Instructor`], 'teacher'],
    ['external learner sub-role', [`${M}/Learner#ExternalLearner`], 'learner'],
    ['institution Instructor without a course role gets no teacher page', [`${I}#Instructor`], 'none'],
  ];
  for (const [name, roles, expected] of cases) {
    it(`${name} → ${expected}`, () => expect(toolRoleOf(roles)).to.equal(expected));
  }
});
