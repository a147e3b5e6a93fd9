#!/usr/bin/env bash
# Regenerates the screenshots of the web pages in this folder: runs the
# browser test (e2e/web_test.go), which writes a PNG of each main page at
# 1280 px and at 390 px (a phone) when FERRY_SCREENSHOTS names a folder.
# Needs chromium (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
FERRY_SCREENSHOTS="$PWD/docs/screenshots" go test -count=1 -run '^TestWebPages$' ./e2e
ls docs/screenshots/*.png
