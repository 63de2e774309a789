#!/usr/bin/env node
// Prints the data model Prisma's own parser reads from one schema file, as JSON: its models with
// their database names, fields (name, database name, default, id) and indexes. Tests use it to
// assert that a rendered schema holds exactly the declared structure.
//
// Usage: node datamodel.cjs FILE
'use strict';

const fs = require('fs');
const w = require('@prisma/prisma-schema-wasm');

const file = process.argv[2];
if (!file) {
  console.error('usage: node datamodel.cjs FILE');
  process.exit(2);
}
const text = fs.readFileSync(file, 'utf8');
const dmmf = JSON.parse(w.get_dmmf(JSON.stringify({ prismaSchema: [[file, text]], noColor: true })));
const models = dmmf.datamodel.models.map((model) => ({
  name: model.name,
  dbName: model.dbName ?? null,
  fields: model.fields.map((field) => ({
    name: field.name,
    dbName: field.dbName ?? null,
    kind: field.kind,
    type: field.type,
    isId: field.isId,
    default: field.default === undefined ? null : field.default,
  })),
}));
process.stdout.write(JSON.stringify({ models }));
