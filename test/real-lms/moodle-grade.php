<?php
// Changes one learner's grade in CERTLAB the way the grader report saves a typed grade
// (grade/report/grader/lib.php process_data -> grade_item::update_final_grade(..., 'gradebook')).
// Usage: php -d max_input_vars=5000 test/real-lms/moodle-grade.php "Oral exam" learner2 12   ("" clears it)
define('CLI_SCRIPT', true);
require((getenv('MOODLE_DIR') ?: '/work/reallms/moodle') . '/config.php');
require_once($CFG->libdir . '/gradelib.php');
[$itemname, $username, $value] = array_slice($argv, 1, 3) + [null, null, null];
$course = $DB->get_record('course', ['shortname' => 'CERTLAB'], '*', MUST_EXIST);
$user = $DB->get_record('user', ['username' => $username], '*', MUST_EXIST);
\core\session\manager::set_user($DB->get_record('user', ['username' => 'teacher1']));
$item = grade_item::fetch(['courseid' => $course->id, 'itemname' => $itemname]);
if (!$item) { cli_error("no grade item '$itemname' in CERTLAB"); }
$item->update_final_grade($user->id, $value === '' ? null : (float)$value, 'gradebook');
grade_regrade_final_grades($course->id);
$g = grade_grade::fetch(['itemid' => $item->id, 'userid' => $user->id]);
echo "$itemname / $username = ", $g && $g->finalgrade !== null ? format_float($g->finalgrade, 2) : '-', "\n";
