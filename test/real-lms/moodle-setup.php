<?php
// Sets up the lab course in a real Moodle 4.5.6, with the data generator tool_generator uses on
// production sites (admin/tool/generator; here without PHPUnit, which the release does not ship), then grades through Moodle's own APIs:
//  - users: teacher1 (editingteacher), assistant1 (non-editing teacher), learner1..learner5;
//  - course CERTLAB "Certificates lab" with completion tracking on (criterion: course grade >= 40);
//  - "Quiz 1" (5 true/false questions, grade out of 10) with real attempts, so the quiz grade is Moodle's own;
//  - "Essay" assignment out of 20, graded through mod_assign (assign::save_grade, as the grading form does);
//  - "Oral exam" manual grade item out of 20, graded as the grader report does (grade_item::update_final_grade);
//  - web services: external service "Certificates grades" with exactly the three functions, a role
//    "Certificates grade reader" assigned at system level to a dedicated user wsgrades, a permanent token;
//    plus an under-privileged user wslimited (no moodle/grade:viewall) with its own token.
// Run: php -d max_input_vars=5000 test/real-lms/moodle-setup.php   (from anywhere; MOODLE_DIR from env)
// Prints a JSON summary and writes it to $RL_ROOT/moodle-lab.json.
define('CLI_SCRIPT', true);
$moodledir = getenv('MOODLE_DIR') ?: '/work/reallms/moodle';
require($moodledir . '/config.php');
require_once($CFG->libdir . '/clilib.php');
require_once($CFG->libdir . '/testing/generator/lib.php'); // phpunit_util needs PHPUnit; the generator alone does not
require_once($CFG->dirroot . '/mod/quiz/locallib.php');
require_once($CFG->dirroot . '/mod/assign/locallib.php');
require_once($CFG->libdir . '/gradelib.php');
require_once($CFG->dirroot . '/completion/criteria/completion_criteria_grade.php');
require_once($CFG->dirroot . '/webservice/lib.php');

\core\session\manager::set_user(get_admin());
$gen = new testing_data_generator();
$pass = getenv('USER_PASS') ?: 'User-pass-1';

function lab_user($gen, $username, $first, $last, $idnumber, $pass) {
    global $DB;
    if ($u = $DB->get_record('user', ['username' => $username])) {
        return $u;
    }
    return $gen->create_user(['username' => $username, 'password' => $pass, 'firstname' => $first,
        'lastname' => $last, 'email' => "$username@example.com", 'idnumber' => $idnumber, 'maildisplay' => 1]);
}

if ($old = $DB->get_record('course', ['shortname' => 'CERTLAB'])) {
    delete_course($old, false); // a re-run starts the course afresh (users are kept)
}
$people = [
    'teacher1' => ['Tess', 'Teacher', 'T001'],
    'assistant1' => ['Nico', 'Nonediting', 'T002'],
    'learner1' => ['Ada', 'Lovelace', 'L001'],
    'learner2' => ['Blaise', 'Pascal', 'L002'],
    'learner3' => ['Carl', 'Gauss', 'L003'],
    'learner4' => ['Dora', 'Noether', 'L004'],
    'learner5' => ['Emmy', 'Klein', 'L005'],
];
$users = [];
foreach ($people as $username => [$first, $last, $idn]) {
    $users[$username] = lab_user($gen, $username, $first, $last, $idn, $pass);
}
$course = $gen->create_course(['fullname' => 'Certificates lab', 'shortname' => 'CERTLAB',
    'idnumber' => 'CERTLAB', 'enablecompletion' => 1, 'showgrades' => 1]);
$gen->enrol_user($users['teacher1']->id, $course->id, 'editingteacher');
$gen->enrol_user($users['assistant1']->id, $course->id, 'teacher');
foreach (['learner1', 'learner2', 'learner3', 'learner4', 'learner5'] as $l) {
    $gen->enrol_user($users[$l]->id, $course->id, 'student');
}

// Quiz 1: five true/false questions of one mark each, quiz grade out of 10.
$quizgen = $gen->get_plugin_generator('mod_quiz');
$quiz = $quizgen->create_instance(['course' => $course->id, 'name' => 'Quiz 1', 'grade' => 10,
    'sumgrades' => 5, 'questionsperpage' => 0, 'preferredbehaviour' => 'deferredfeedback']);
$qgen = $gen->get_plugin_generator('core_question');
$cat = $qgen->create_question_category(['contextid' => context_module::instance($quiz->cmid)->id]);
for ($i = 1; $i <= 5; $i++) {
    // What the question form submits (question/type/truefalse/edit_truefalse_form.php); the generator's
    // create_question() needs test_question_maker, i.e. PHPUnit.
    $q = (object)['qtype' => 'truefalse', 'createdby' => 0, 'idnumber' => null,
        'status' => \core_question\local\bank\question_version_status::QUESTION_STATUS_READY];
    $form = (object)['category' => $cat->id, 'name' => "TF $i", 'defaultmark' => 1, 'penalty' => 1,
        'questiontext' => ['format' => FORMAT_HTML, 'text' => "Statement $i is true."],
        'generalfeedback' => ['format' => FORMAT_HTML, 'text' => ''], 'correctanswer' => '1',
        'feedbacktrue' => ['format' => FORMAT_HTML, 'text' => ''], 'feedbackfalse' => ['format' => FORMAT_HTML, 'text' => ''],
        'status' => \core_question\local\bank\question_version_status::QUESTION_STATUS_READY];
    $q = question_bank::get_qtype('truefalse')->save_question($q, $form);
    quiz_add_quiz_question($q->id, $quiz, 0, 1);
}
\mod_quiz\quiz_settings::create($quiz->id)->get_grade_calculator()->recompute_quiz_sumgrades();

$assign = $gen->create_module('assign', ['course' => $course->id, 'name' => 'Essay', 'grade' => 20,
    'assignsubmission_onlinetext_enabled' => 1]);
$oral = $gen->create_grade_item(['courseid' => $course->id, 'itemname' => 'Oral exam', 'grademax' => 20,
    'idnumber' => 'ORAL']);

// Grades: quiz = right answers x 2; essay and oral out of 20. learner5 has no oral grade (ungraded).
$grades = [
    'learner1' => ['quiz' => 5, 'essay' => 18, 'oral' => 17],   // 10+18+17 = 45/50 = 90 %
    'learner2' => ['quiz' => 4, 'essay' => 16, 'oral' => 16],   //  8+16+16 = 40/50 = 80 %
    'learner3' => ['quiz' => 4, 'essay' => 15, 'oral' => 16],   //  8+15+16 = 39/50 = 78 %
    'learner4' => ['quiz' => 3, 'essay' => 12, 'oral' => 10],   //  6+12+10 = 28/50 = 56 %
    'learner5' => ['quiz' => 5, 'essay' => 19, 'oral' => null], // 10+19 = 29/30 (oral not graded)
];
$cm = get_coursemodule_from_instance('assign', $assign->id);
$assignobj = new assign(context_module::instance($cm->id), $cm, $course);
foreach ($grades as $username => $g) {
    $u = $users[$username];
    // A real attempt, answered as the learner.
    \core\session\manager::set_user($u);
    $attempt = $quizgen->create_attempt($quiz->id, $u->id);
    // What the attempt page posts (the generator's submit_responses() is for unit tests only).
    $attemptobj = \mod_quiz\quiz_attempt::create($attempt->id);
    $postdata = [];
    for ($slot = 1; $slot <= 5; $slot++) {
        $qa = $attemptobj->get_question_attempt($slot);
        $postdata[$qa->get_control_field_name('sequencecheck')] = (string)$qa->get_sequence_check_count();
        $postdata[$qa->get_flag_field_name()] = '0';
        $postdata[$qa->get_qt_field_name('answer')] = $slot <= $g['quiz'] ? '1' : '0'; // every statement is true
    }
    $attemptobj->process_submitted_actions(time(), false, $postdata);
    $attemptobj->process_finish(time(), false);
    // The teacher grades the essay and types the oral mark in the grader report.
    \core\session\manager::set_user($users['teacher1']);
    $assignobj->save_grade($u->id, (object)['grade' => $g['essay'], 'attemptnumber' => -1,
        'assignfeedbackcomments_editor' => ['text' => '', 'format' => FORMAT_HTML]]);
    if ($g['oral'] !== null) {
        $item = grade_item::fetch(['id' => $oral->id]);
        $item->update_final_grade($u->id, $g['oral'], 'gradebook');
    }
}
\core\session\manager::set_user(get_admin());
grade_regrade_final_grades($course->id);
// Completion is computed by cron: \core\task\completion_regular_task (run it twice: criteria, then the course).

// Course completion: one criterion, course grade >= 40 (the report would otherwise answer "no criteria").
$criterion = new completion_criteria_grade();
$criteriondata = (object)['id' => $course->id, 'criteria_grade' => 1, 'criteria_grade_value' => 40];
$criterion->update_config($criteriondata);
$agg = new completion_aggregation(['course' => $course->id, 'criteriatype' => null]);
$agg->setMethod(COMPLETION_AGGREGATION_ALL);
$agg->save();

// A second course with completion tracking off, to see what core_completion_get_course_completion_status says then.
if ($old = $DB->get_record('course', ['shortname' => 'NOCOMPL'])) {
    delete_course($old, false);
}
$nocompl = $gen->create_course(['fullname' => 'No completion tracking', 'shortname' => 'NOCOMPL', 'enablecompletion' => 0]);
$gen->enrol_user($users['learner1']->id, $nocompl->id, 'student');

// Web services: a service with exactly the three functions the tool calls.
$functions = ['gradereport_user_get_grade_items', 'core_enrol_get_enrolled_users',
    'core_completion_get_course_completion_status'];
$service = $DB->get_record('external_services', ['shortname' => 'lticert_grades']);
if (!$service) {
    $serviceid = $DB->insert_record('external_services', (object)['name' => 'Certificates grades',
        'shortname' => 'lticert_grades', 'enabled' => 1, 'restrictedusers' => 0, 'downloadfiles' => 0,
        'uploadfiles' => 0, 'timecreated' => time(), 'timemodified' => time(), 'component' => null]);
    foreach ($functions as $f) {
        $DB->insert_record('external_services_functions', (object)['externalserviceid' => $serviceid, 'functionname' => $f]);
    }
    $service = $DB->get_record('external_services', ['id' => $serviceid]);
}
$caps = ['webservice/rest:use', 'moodle/course:view', 'moodle/course:viewparticipants', 'moodle/user:viewdetails',
    'moodle/course:useremail', 'moodle/site:viewuseridentity', 'moodle/site:accessallgroups',
    'moodle/course:viewhiddencourses', 'gradereport/user:view', 'moodle/grade:viewall', 'moodle/grade:viewhidden',
    'report/completion:view', 'moodle/course:enrolreview', 'moodle/course:viewhiddenactivities'];
// gradereport_user_get_grade_items builds the report with the *caller's* course_modinfo
// (grade/report/user/classes/report/user.php: modinfo = gtree->modinfo unless viewasuser), and drops every
// activity grade item whose course module is not uservisible to the caller (same file, "!$cm->uservisible").
// A user who is not enrolled sees a module only with mod/<name>:view (lib/modinfolib.php,
// is_user_access_restricted_by_capability). Without these, quizzes and assignments silently vanish from
// the answer while the course total still counts them.
foreach (array_keys(core_component::get_plugin_list('mod')) as $mod) {
    if (get_capability_info("mod/$mod:view")) {
        $caps[] = "mod/$mod:view";
    }
}
$noviewcaps = array_values(array_filter($caps, fn($c) => !preg_match('#^mod/.*:view$#', $c)));
function lab_ws_role($gen, $shortname, $name, array $caps) {
    global $DB;
    $roleid = $DB->get_field('role', 'id', ['shortname' => $shortname]) ?: create_role($name, $shortname, '');
    set_role_contextlevels($roleid, [CONTEXT_SYSTEM]);
    foreach ($caps as $c) {
        assign_capability($c, CAP_ALLOW, $roleid, context_system::instance()->id, true);
    }
    return $roleid;
}
$fullrole = lab_ws_role($gen, 'lticertws', 'Certificates grade reader', $caps);
$limitedrole = lab_ws_role($gen, 'lticertwslimited', 'Certificates grade reader (no viewall)',
    array_values(array_diff($caps, ['moodle/grade:viewall'])));
$ws = lab_user($gen, 'wsgrades', 'Web service', 'Grades', 'WS001', $pass);
$wslimited = lab_user($gen, 'wslimited', 'Web service', 'Limited', 'WS002', $pass);
// A third reader with everything except the activity view capabilities (what the first run here had).
$nomodviewrole = lab_ws_role($gen, 'lticertwsnomodview', 'Certificates grade reader (no mod view)', $noviewcaps);
$wsnomodview = lab_user($gen, 'wsnomodview', 'Web service', 'No module view', 'WS003', $pass);
role_assign($fullrole, $ws->id, context_system::instance()->id);
role_assign($limitedrole, $wslimited->id, context_system::instance()->id);
role_assign($nomodviewrole, $wsnomodview->id, context_system::instance()->id);
accesslib_clear_all_caches(true);
$token = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $ws->id, context_system::instance());
$limitedtoken = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $wslimited->id, context_system::instance());
$nomodviewtoken = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $wsnomodview->id, context_system::instance());
$revoked = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $ws->id, context_system::instance());

$summary = [
    'moodle' => $CFG->wwwroot, 'release' => $CFG->release, 'courseid' => (int)$course->id, 'nocompletion_courseid' => (int)$nocompl->id,
    'users' => array_map(fn($u) => (int)$u->id, $users), 'wsuser' => (int)$ws->id,
    'quiz' => ['id' => (int)$quiz->id, 'cmid' => (int)$quiz->cmid], 'assign_cmid' => (int)$cm->id,
    'oral_itemid' => (int)$oral->id, 'service' => 'lticert_grades',
    'token' => $token, 'limited_token' => $limitedtoken, 'nomodview_token' => $nomodviewtoken, 'token_to_revoke' => $revoked,
];
$out = json_encode($summary, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES);
file_put_contents((getenv('RL_ROOT') ?: '/work/reallms') . '/moodle-lab.json', $out);
echo $out, "\n";
