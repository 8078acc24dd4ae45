#!/usr/bin/env bash
grep ERROR server.log > errors.txt
