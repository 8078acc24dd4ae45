#!/usr/bin/env bash
find . -name '*.md' -exec sed -i 's/colour/color/g' {} +
