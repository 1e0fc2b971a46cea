<?php
// Languages and scripts in the real Chamilo 1.11.28 lab (issue #15), after chamilo-gradebook.sh:
//  1. Users' language, the column Administration › Users › Edit (main/admin/user_edit.php ->
//     UserManager::update_user(..., $language, ...)) and the profile form (main/auth/profile.php) save:
//     the language's folder name. learner1 dutch, learner2 german, learner3 french, learner4 spanish,
//     learner6 greek (a language Chamilo ships and the tool does not speak: English expected).
//     The launch sends the language's ISO code from the `language` table (plugin/ims_lti/auth.php
//     'locale' => api_get_language_isocode($user->getLanguage()); main/inc/lib/internationalization.lib.php).
//  2. Two learners whose names are in other scripts, subscribed to CERTLAB as students, with results in
//     the three activities saved as "Grade learners" saves them (main/gradebook/gradebook_add_result.php:
//     new Result(), set_evaluation_id/set_user_id/set_score, add()): learner6 Σοφία Παπαδοπούλου (Greek)
//     and learner7 Анна Иванова (Cyrillic).
// Run: php test/real-lms/chamilo-i18n-setup.php   (CHAMILO_DIR from env.sh)
if (PHP_SAPI !== 'cli') { exit; }
$dir = getenv('CHAMILO_DIR') ?: '/work/reallms/chamilo';
require_once $dir.'/main/inc/global.inc.php';
$pass = getenv('USER_PASS') ?: 'User-pass-1';
$lab = json_decode(file_get_contents((getenv('RL_ROOT') ?: '/work/reallms').'/chamilo-lab.json'), true);
$people = [
    'learner6' => ['Σοφία', 'Παπαδοπούλου', 'L006', [18, 9, 18]],
    'learner7' => ['Анна', 'Иванова', 'L007', [17, 9, 17]],
];
foreach ($people as $username => [$first, $last, $code, $scores]) {
    $info = api_get_user_info_from_username($username);
    $id = $info ? (int) $info['user_id'] : (int) UserManager::create_user(
        $first, $last, STUDENT, "$username@example.com", $username, $pass, $code, 'english');
    CourseManager::subscribeUser($id, 'CERTLAB', STUDENT, 0, 0, false, false);
    $lab['users'][$username] = $id;
    foreach (['written', 'oral', 'project'] as $i => $eval) {
        $evalId = (int) $lab['gradebook'][$eval];
        if (Result::load(null, $id, $evalId)) { continue; }
        $res = new Result();
        $res->set_evaluation_id($evalId);
        $res->set_user_id($id);
        $res->set_score($scores[$i]);
        $res->add();
    }
}
foreach (['learner1' => 'dutch', 'learner2' => 'german', 'learner3' => 'french', 'learner4' => 'spanish', 'learner6' => 'greek'] as $username => $language) {
    Database::update(Database::get_main_table(TABLE_MAIN_USER), ['language' => $language], ['username = ?' => $username]);
}
file_put_contents((getenv('RL_ROOT') ?: '/work/reallms').'/chamilo-lab.json', json_encode($lab, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
foreach (['learner1', 'learner2', 'learner3', 'learner4', 'learner6', 'learner7'] as $username) {
    $u = api_get_user_info_from_username($username);
    echo "$username\t{$u['user_id']}\t{$u['complete_name']}\t{$u['language']}\t", api_get_language_isocode($u['language']), "\n";
}
