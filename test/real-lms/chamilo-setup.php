<?php
// Creates the lab's users and course in a real Chamilo 1.11.28 through Chamilo's own managers
// (what Administration > Users > Add a user and Administration > Courses > Create a course call):
// teacher1 (course manager, status 1), assistant1 (a second teacher of the course), learner1..learner5 (status 5),
// course CERTLAB "Certificates lab" taught by teacher1, everyone subscribed.
// Run: php test/real-lms/chamilo-setup.php   (CHAMILO_DIR from env.sh). Writes $RL_ROOT/chamilo-lab.json.
if (PHP_SAPI !== 'cli') { exit; }
$dir = getenv('CHAMILO_DIR') ?: '/work/reallms/chamilo';
require_once $dir.'/main/inc/global.inc.php';
$pass = getenv('USER_PASS') ?: 'User-pass-1';
$people = [
    'teacher1' => ['Tess', 'Teacher', COURSEMANAGER, 'T001'],
    'assistant1' => ['Nico', 'Assistant', COURSEMANAGER, 'T002'],
    'learner1' => ['Ada', 'Lovelace', STUDENT, 'L001'],
    'learner2' => ['Blaise', 'Pascal', STUDENT, 'L002'],
    'learner3' => ['Carl', 'Gauss', STUDENT, 'L003'],
    'learner4' => ['Dora', 'Noether', STUDENT, 'L004'],
    'learner5' => ['Emmy', 'Klein', STUDENT, 'L005'],
];
$ids = [];
foreach ($people as $username => [$first, $last, $status, $code]) {
    $info = api_get_user_info_from_username($username);
    $ids[$username] = $info ? (int) $info['user_id'] : (int) UserManager::create_user(
        $first, $last, $status, "$username@example.com", $username, $pass, $code, 'english');
}
$course = api_get_course_info('CERTLAB');
if (!$course) {
    $course = CourseManager::create_course([
        'title' => 'Certificates lab', 'wanted_code' => 'CERTLAB', 'course_language' => 'english',
        'visibility' => COURSE_VISIBILITY_REGISTERED, 'subscribe' => 0, 'unsubscribe' => 0,
    ], $ids['teacher1']);
}
// create_course() registers as teacher only $params['user_id']: subscribe both teachers explicitly.
foreach (['teacher1', 'assistant1'] as $t) {
    CourseManager::subscribeUser($ids[$t], 'CERTLAB', COURSEMANAGER, 0, 0, false, false);
}
foreach (['learner1', 'learner2', 'learner3', 'learner4', 'learner5'] as $l) {
    CourseManager::subscribeUser($ids[$l], 'CERTLAB', STUDENT, 0, 0, false, false);
}
$course = api_get_course_info('CERTLAB');
$out = json_encode(['chamilo' => api_get_path(WEB_PATH), 'course' => 'CERTLAB', 'course_id' => (int) $course['real_id'],
    'users' => $ids], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES);
file_put_contents((getenv('RL_ROOT') ?: '/work/reallms').'/chamilo-lab.json', $out);
echo $out, "\n";
