<?php
// Reads an HTML page on stdin and prints the fields a browser would submit for the first <form> whose
// action contains ARG1, url-encoded and joined with & (use with curl --data @-).
// Further args NAME=VALUE override or add fields; NAME= with an empty value drops NAME.
// Checked checkboxes/radios only; for a <select>, the selected (else first) option.
// usage: curl ... page | php form-fields.php export.php 'display[real]=1' | curl --data @- ...
$html = stream_get_contents(STDIN);
$doc = new DOMDocument();
libxml_use_internal_errors(true);
$doc->loadHTML('<?xml encoding="utf-8"?>' . $html);
$want = $argv[1] ?? '';
$form = null;
foreach ($doc->getElementsByTagName('form') as $f) {
    if ($want === '' || strpos($f->getAttribute('action'), $want) !== false || $f->getAttribute('id') === $want
            || $f->getAttribute('name') === $want || $f->getAttribute('data-form') === $want) {
        $form = $f;
        break;
    }
}
if (!$form) {
    fwrite(STDERR, "no form matching '$want'\n");
    exit(1);
}
$fields = [];
$xp = new DOMXPath($doc);
foreach ($xp->query('.//input|.//select|.//textarea', $form) as $el) {
    $name = $el->getAttribute('name');
    if ($name === '' || $el->hasAttribute('disabled')) {
        continue;
    }
    $tag = strtolower($el->nodeName);
    if ($tag === 'input') {
        $type = strtolower($el->getAttribute('type') ?: 'text');
        if (in_array($type, ['submit', 'button', 'image', 'reset', 'file'])) {
            continue;
        }
        if (in_array($type, ['checkbox', 'radio']) && !$el->hasAttribute('checked')) {
            continue;
        }
        $value = $el->hasAttribute('value') ? $el->getAttribute('value') : ($type === 'checkbox' ? 'on' : '');
    } else if ($tag === 'select') {
        $value = null;
        $opts = $xp->query('.//option', $el);
        foreach ($opts as $o) {
            if ($o->hasAttribute('selected')) {
                $value = $o->hasAttribute('value') ? $o->getAttribute('value') : $o->textContent;
                if (!$el->hasAttribute('multiple')) { break; }
                $fields[] = [$name, $value];
                $value = null;
            }
        }
        if ($value === null) {
            if ($el->hasAttribute('multiple') || $opts->length === 0) { continue; }
            $o = $opts->item(0);
            $value = $o->hasAttribute('value') ? $o->getAttribute('value') : $o->textContent;
        }
    } else {
        $value = $el->textContent;
    }
    $fields[] = [$name, $value];
}
foreach (array_slice($argv, 2) as $ov) {
    [$n, $v] = explode('=', $ov, 2) + [1 => ''];
    $fields = array_values(array_filter($fields, fn($f) => $f[0] !== $n));
    if ($v !== '') {
        $fields[] = [$n, $v];
    }
}
echo implode('&', array_map(fn($f) => rawurlencode($f[0]) . '=' . rawurlencode($f[1]), $fields));
