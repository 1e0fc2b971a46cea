/**
 * A person on a course roster (NRPS), with what the platform chose to send. Someone who left the
 * course keeps the document with `status: 'left'` and `leftAt`, so that certificates already
 * issued to them stay explainable.
 *
 * Personal data kept here: name, given/family name, email, SIS id, lis_person_sourcedid, username.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export type MemberStatus = 'active' | 'inactive' | 'left';

export interface Member {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  /** The LMS user id (`sub`). */
  userId: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
  sisId?: string;
  lisPersonSourcedId?: string;
  /**
   * The LMS login name, which NRPS never sends: learned at launch from the custom parameter
   * `username=$User.username` (Moodle and Chamilo substitute it). Chamilo's gradebook export
   * names learners only by it (src/grades/csv/README.md).
   */
  username?: string;
  roles: string[];
  isLearner: boolean;
  /**
   * When this person last launched the tool as a teacher. Moodle sends a non-editing teacher the
   * Instructor role at launch but lists them as a Learner over NRPS (mod/lti/locallib.php
   * lti_get_ims_role asks for moodle/course:manageactivities when there is no activity, as in the
   * memberships service; observed on Moodle 4.5.6): once seen teaching, a roster never makes them a learner.
   */
  teacherLaunchAt?: Date;
  status: MemberStatus;
  fetchedAt: Date;
  leftAt?: Date | null;
  createdAt?: Date;
  updatedAt?: Date;
}

const schema = new Schema<Member>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: String, required: true },
    name: String,
    givenName: String,
    familyName: String,
    email: String,
    sisId: String,
    lisPersonSourcedId: String,
    username: String,
    roles: { type: [String], default: [] },
    isLearner: { type: Boolean, required: true },
    teacherLaunchAt: Date,
    status: { type: String, enum: ['active', 'inactive', 'left'], required: true },
    fetchedAt: { type: Date, required: true },
    leftAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'members' },
);
schema.index({ courseId: 1, userId: 1 }, { unique: true });

export function memberModel(conn: Connection): Model<Member> {
  return (conn.models.Member as Model<Member>) ?? conn.model<Member>('Member', schema);
}
