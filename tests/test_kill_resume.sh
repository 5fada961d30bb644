#!/bin/sh
# test_kill_resume.sh - SIGKILL at 20 random moments of training, SIGINT once,
# then a resume to the end (scripts/kill_resume.sh; about 2 s in a Release
# build, longer under the sanitizers). Run by ctest from tests/ with
# LAMINA_BUILD_DIR set.
set -eu
exec sh "$(dirname "$0")/../scripts/kill_resume.sh" 20
