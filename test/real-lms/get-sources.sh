#!/bin/bash
# Extracts Moodle 4.5.6 and Chamilo 1.11.28 from the bare mirrors the `fetch` tool brought
# (github:paulkennethsq1/hrsq1, github:batisseursnum/apprendre), leaving out the blobs those snapshots lack
# and the project files that are not Moodle's (config.php, local/assessment*, local/corechanges).
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$MOODLE_DIR" "$CHAMILO_DIR"
nice -n 10 git --git-dir="$MOODLE_MIRROR" archive "$MOODLE_COMMIT" -- . ':!config.php' ':!local/assessment*' \
  ':!local/corechanges' ':!h5p/h5plib/v127/joubel/editor/ckeditor/ckeditor.js.map' | tar -x -C "$MOODLE_DIR"
nice -n 10 git --git-dir="$CHAMILO_MIRROR" archive "$CHAMILO_COMMIT" -- . \
  ':!app/Resources/public/assets/vrview/src/third_party/three/closure-compiler-v20160713.jar' \
  ':!web/assets/vrview/src/third_party/three/closure-compiler-v20160713.jar' \
  ':!vendor/alchemy/phpexiftool/lib/PHPExiftool/Driver/TagProvider.php' \
  ':!vendor/emojione/emojione/assets/sprites/emojione.sprites.svg' ':!vendor/endroid/qr-code/assets/noto_sans.otf' \
  ':!vendor/media-alchemyst/media-alchemyst/tests/files/test001.CR2' ':!vendor/mpdf/mpdf/ttfonts/Aegyptus.otf' \
  ':!vendor/mpdf/mpdf/ttfonts/Sun-ExtA.ttf' ':!vendor/mpdf/mpdf/ttfonts/Sun-ExtB.ttf' \
  ':!vendor/mpdf/mpdf/ttfonts/UnBatang_0613.ttf' ':!vendor/phpexiftool/exiftool/exiftool.exe' | tar -x -C "$CHAMILO_DIR"
grep "^\$release" "$MOODLE_DIR/version.php"; grep -o "new_version = '[^']*'" "$CHAMILO_DIR/main/install/version.php"
