<?php
// Prints the rows of every <table> of an HTML page on stdin, one line per <tr>, cells' text joined by "|".
$doc = new DOMDocument();
libxml_use_internal_errors(true);
$doc->loadHTML('<?xml encoding="utf-8"?>' . stream_get_contents(STDIN));
foreach ((new DOMXPath($doc))->query('//table//tr') as $tr) {
    $cells = [];
    foreach ($tr->childNodes as $c) {
        if ($c instanceof DOMElement && in_array($c->nodeName, ['td', 'th'])) {
            $cells[] = trim(preg_replace('/\s+/u', ' ', $c->textContent));
        }
    }
    if ($cells) { echo implode('|', $cells), "\n"; }
}
