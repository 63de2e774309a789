#!/usr/bin/env node
// Checks Prisma schema files with Prisma's own parser, validator and formatter
// (@prisma/prisma-schema-wasm, pinned to the Prisma 6 line: a datasource `url` is required).
//
// Usage: node validate.cjs FILE_OR_DIR...
// A directory contributes every *.prisma file directly inside it. Each file must
//   1. validate: w.validate() accepts it, and
//   2. be formatted: w.format(x) === x (format also adds missing back-relations, so a
//      schema that relies on that fails here too).
// Prints one line per file and a summary "N passed, M failed"; exits 1 on any failure
// (or when no file was given), 0 otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const w = require('@prisma/prisma-schema-wasm');

function collect(args) {
  const files = [];
  for (const arg of args) {
    const stat = fs.statSync(arg);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(arg).sort()) {
        if (name.endsWith('.prisma')) files.push(path.join(arg, name));
      }
    } else {
      files.push(arg);
    }
  }
  return files;
}

function validate(file, text) {
  try {
    w.validate(JSON.stringify({ prismaSchema: [[file, text]], noColor: true }));
    return null;
  } catch (error) {
    try {
      return JSON.parse(error.message).message;
    } catch (_) {
      return String(error.message || error);
    }
  }
}

function formatted(file, text) {
  const params = JSON.stringify({ textDocument: { uri: 'file:/schema.prisma' }, options: { tabSize: 2, insertSpaces: true } });
  const result = JSON.parse(w.format(JSON.stringify([[file, text]]), params));
  return result[0][1];
}

function firstDifference(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i] !== right[i]) {
      return `line ${i + 1}: got ${JSON.stringify(left[i])}, prisma format wants ${JSON.stringify(right[i])}`;
    }
  }
  return 'texts differ';
}

const files = collect(process.argv.slice(2));
let passed = 0;
let failed = 0;
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const error = validate(file, text);
  if (error !== null) {
    failed++;
    console.log(`FAIL ${file}: invalid schema\n${error}`);
    continue;
  }
  const expected = formatted(file, text);
  if (expected !== text) {
    failed++;
    console.log(`FAIL ${file}: not formatted (${firstDifference(text, expected)})`);
    continue;
  }
  passed++;
  console.log(`ok   ${file}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
