<?php
// Languages and scripts in the real Moodle 4.5.6 lab (issue #15), after moodle-setup.php:
//  1. Minimal language packs, installed the way Moodle detects one: a directory
//     $CFG->dataroot/lang/<code>/ with a langconfig.php that has `thislanguage`
//     (lib/classes/string_manager_standard.php get_list_of_translations(): every directory of
//     $CFG->langotherroot = dataroot/lang whose langconfig has a non-empty 'thislanguage' is a
//     translation; missing strings fall back to the parent pack, then English). This site is offline,
//     so the real packs (download.moodle.org/langpack) cannot be installed; Moodle's own pages stay in
//     English, but the language is "installed" and a user may choose it.
//  2. Users' preferred language, as Preferences › Preferred language saves it (user.lang):
//     learner1 nl, learner2 de, learner3 es_mx (a regional pack: Moodle sends "es_mx"), learner6 zh_cn.
//  3. Two learners whose names are in other scripts, enrolled in CERTLAB as students, with an Oral exam
//     mark typed as the grader report does: learner6 王小明 (given 小明, family 王) and learner7 ليلى حداد.
// mod/lti/locallib.php lti_get_launch_data(): launch_presentation_locale = current_language(), i.e.
// $USER->lang when no course/activity language is forced (lib/moodlelib.php current_language()).
// Run: cd $MOODLE_DIR && php -d max_input_vars=5000 test/real-lms/moodle-i18n-setup.php
define('CLI_SCRIPT', true);
require((getenv('MOODLE_DIR') ?: '/work/reallms/moodle') . '/config.php');
require_once($CFG->libdir . '/gradelib.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->libdir . '/enrollib.php');

$packs = [
    'nl' => ['Nederlands', '', 'nl_NL.UTF-8'],
    'de' => ['Deutsch', '', 'de_DE.UTF-8'],
    'es' => ['Español - Internacional', '', 'es_ES.UTF-8'],
    'es_mx' => ['Español - México', 'es', 'es_MX.UTF-8'],
    'zh_cn' => ['简体中文', '', 'zh_CN.UTF-8'],
];
foreach ($packs as $code => [$name, $parent, $locale]) {
    $dir = "$CFG->dataroot/lang/$code";
    check_dir_exists($dir);
    file_put_contents("$dir/langconfig.php", "<?php\n\$string['thislanguage'] = " . var_export($name, true) .
        ";\n\$string['parentlanguage'] = " . var_export($parent, true) . ";\n\$string['locale'] = " . var_export($locale, true) . ";\n");
}
get_string_manager()->reset_caches();
$installed = get_string_manager()->get_list_of_translations(true);
echo "installed translations: ", implode(', ', array_keys($installed)), "\n";

\core\session\manager::set_user(get_admin());
$course = $DB->get_record('course', ['shortname' => 'CERTLAB'], '*', MUST_EXIST);
$pass = getenv('USER_PASS') ?: 'User-pass-1';
$people = [
    'learner6' => ['小明', '王', 'L006', 'zh_cn'],
    'learner7' => ['ليلى', 'حداد', 'L007', 'en'],
];
foreach ($people as $username => [$first, $last, $idnumber, $lang]) {
    if (!$DB->record_exists('user', ['username' => $username])) {
        user_create_user((object)['username' => $username, 'password' => $pass, 'firstname' => $first, 'lastname' => $last,
            'email' => "$username@example.com", 'idnumber' => $idnumber, 'auth' => 'manual', 'confirmed' => 1,
            'mnethostid' => $CFG->mnet_localhost_id, 'lang' => $lang]);
    }
    $u = $DB->get_record('user', ['username' => $username], '*', MUST_EXIST);
    $instance = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
    $student = $DB->get_field('role', 'id', ['shortname' => 'student']);
    enrol_get_plugin('manual')->enrol_user($instance, $u->id, $student);
}
foreach (['learner1' => 'nl', 'learner2' => 'de', 'learner3' => 'es_mx', 'learner6' => 'zh_cn'] as $username => $lang) {
    $u = $DB->get_record('user', ['username' => $username], '*', MUST_EXIST);
    user_update_user((object)['id' => $u->id, 'lang' => $lang], false, false);
}
// The grader report's path for a typed mark (as moodle-grade.php).
\core\session\manager::set_user($DB->get_record('user', ['username' => 'teacher1']));
$oral = grade_item::fetch(['courseid' => $course->id, 'itemname' => 'Oral exam']);
foreach (['learner6' => 18, 'learner7' => 17] as $username => $mark) {
    $oral->update_final_grade($DB->get_field('user', 'id', ['username' => $username]), $mark, 'gradebook');
}
grade_regrade_final_grades($course->id);
foreach ($DB->get_records_list('user', 'username', ['learner1', 'learner2', 'learner3', 'learner6', 'learner7'], 'username') as $u) {
    echo "$u->username\t$u->id\t$u->firstname $u->lastname\tlang=$u->lang\n";
}
