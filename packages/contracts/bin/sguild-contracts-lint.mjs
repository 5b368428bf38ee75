#!/usr/bin/env node
import "../dist/lint-cli.js";
