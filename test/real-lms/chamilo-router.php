<?php
// Router for PHP's built-in server standing in for Chamilo 1.11's Apache rewrite rules
// (main/install/htaccess.dist): /courses/CODE/ -> main/course_home/course_home.php?cDir=CODE,
// /courses/CODE/document/X -> main/document/download.php?doc_url=/X&cDir=CODE,
// /courses/CODE/work/X -> main/work/download.php?file=work/X&cDir=CODE. Everything else is served as is.
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$root = $_SERVER['DOCUMENT_ROOT'];
$run = function (string $script, array $get) use ($root) {
    $_GET = array_merge($_GET, $get);
    $_REQUEST = array_merge($_REQUEST, $get);
    $_SERVER['SCRIPT_NAME'] = '/'.$script;
    $_SERVER['PHP_SELF'] = '/'.$script;
    $_SERVER['SCRIPT_FILENAME'] = $root.'/'.$script;
    chdir(dirname($root.'/'.$script));
    require $root.'/'.$script;
    return true;
};
if (preg_match('#^/courses/([^/]+)/document/(.*)$#', $path, $m)) {
    return $run('main/document/download.php', ['doc_url' => '/'.$m[2], 'cDir' => $m[1]]);
}
if (preg_match('#^/courses/([^/]+)/work/(.*)$#', $path, $m)) {
    return $run('main/work/download.php', ['file' => 'work/'.$m[2], 'cDir' => $m[1]]);
}
if (preg_match('#^/courses/([^/]+)/?(index\.php)?$#', $path, $m)) {
    return $run('main/course_home/course_home.php', ['cDir' => $m[1]]);
}
if (is_dir($root.$path) && is_file(rtrim($root.$path, '/').'/index.php')) {
    return $run(ltrim(rtrim($path, '/').'/index.php', '/'), []);
}
return false; // let the built-in server serve the file or run the .php script
