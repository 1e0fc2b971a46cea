<?php
// Router for PHP's built-in server standing in for Chamilo 1.11's Apache rewrite rules
// (main/install/htaccess.dist): /courses/CODE/ -> main/course_home/course_home.php?cDir=CODE,
// /courses/CODE/document/X -> main/document/download.php?doc_url=/X&cDir=CODE,
// /courses/CODE/work/X -> main/work/download.php?file=work/X&cDir=CODE. Everything else is served as is.
// The target script is required at the top level (not in a function): Chamilo relies on globals.
$rlPath = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$rlRoot = $_SERVER['DOCUMENT_ROOT'];
$rlScript = null;
$rlGet = [];
if (preg_match('#^/courses/([^/]+)/document/(.*)$#', $rlPath, $m)) {
    [$rlScript, $rlGet] = ['main/document/download.php', ['doc_url' => '/'.$m[2], 'cDir' => $m[1]]];
} elseif (preg_match('#^/courses/([^/]+)/work/(.*)$#', $rlPath, $m)) {
    [$rlScript, $rlGet] = ['main/work/download.php', ['file' => 'work/'.$m[2], 'cDir' => $m[1]]];
} elseif (preg_match('#^/courses/([^/]+)/?(index\.php)?$#', $rlPath, $m)) {
    [$rlScript, $rlGet] = ['main/course_home/course_home.php', ['cDir' => $m[1]]];
}
if ($rlScript === null) {
    return false; // the built-in server serves the file, runs the .php script, or a directory's index.php
}
$_GET = array_merge($_GET, $rlGet);
$_REQUEST = array_merge($_REQUEST, $rlGet);
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/'.$rlScript;
$_SERVER['SCRIPT_FILENAME'] = $rlRoot.'/'.$rlScript;
chdir(dirname($rlRoot.'/'.$rlScript));
require $rlRoot.'/'.$rlScript;
