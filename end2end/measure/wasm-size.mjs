// Size profile of a wasm module: code bytes per crate and the largest functions, read from the
// module's `name` section (so run it on a build that still has names, before wasm-opt strips
// them: target/wasm32-unknown-unknown/wasm-release/app.wasm).
//
//   node end2end/measure/wasm-size.mjs path/to/app.wasm [--top 30]
//
// A generic function is counted under the crate that defines it (`core::ptr::drop_in_place<T>`
// counts as core, `<T as serde::Deserialize>::deserialize` as the crate of `T`).
import * as fs from "node:fs";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--"));
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
if (!file) {
  console.error("usage: node wasm-size.mjs FILE.wasm [--top N]");
  process.exit(2);
}
const bytes = fs.readFileSync(file);

let pos = 8;
function uleb() {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return result;
  }
}
function name() {
  const length = uleb();
  const text = bytes.toString("utf8", pos, pos + length);
  pos += length;
  return text;
}

const sections = [];
let importedFunctions = 0;
let bodies = [];
const names = new Map();
const sectionNames = ["custom", "type", "import", "function", "table", "memory", "global", "export",
  "start", "element", "code", "data", "data count"];
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = uleb();
  const start = pos;
  let label = sectionNames[id] ?? `section ${id}`;
  if (id === 0) {
    label = `custom "${name()}"`;
    if (label === 'custom "name"') {
      while (pos < start + size) {
        const kind = bytes[pos++];
        const subsize = uleb();
        const end = pos + subsize;
        if (kind === 1) {
          const count = uleb();
          for (let i = 0; i < count; i++) {
            const index = uleb();
            names.set(index, name());
          }
        }
        pos = end;
      }
    }
  } else if (id === 2) {
    const count = uleb();
    for (let i = 0; i < count; i++) {
      name();
      name();
      const kind = bytes[pos++];
      if (kind === 0) { uleb(); importedFunctions++; }
      else if (kind === 1) { pos++; const flags = uleb(); uleb(); if (flags & 1) uleb(); }
      else if (kind === 2) { const flags = uleb(); uleb(); if (flags & 1) uleb(); }
      else if (kind === 3) { pos += 2; }
      else if (kind === 4) { pos++; uleb(); }
    }
  } else if (id === 10) {
    const count = uleb();
    for (let i = 0; i < count; i++) {
      const bodySize = uleb();
      bodies.push({ index: importedFunctions + i, size: bodySize });
      pos += bodySize;
    }
  }
  sections.push({ label, size });
  pos = start + size;
}

// Legacy Rust mangling (`_ZN4core3ptr..17h<hash>E`) to `core::ptr::..`; other names as they are.
function demangle(symbol) {
  if (!symbol.startsWith("_ZN")) return symbol;
  let i = 3;
  const parts = [];
  while (i < symbol.length && symbol[i] !== "E") {
    let digits = "";
    while (/[0-9]/.test(symbol[i])) digits += symbol[i++];
    if (!digits) break;
    const part = symbol.slice(i, i + Number(digits));
    i += Number(digits);
    if (/^h[0-9a-f]{16}$/.test(part)) continue;
    parts.push(part.startsWith("_$") ? part.slice(1) : part);
  }
  return parts
    .join("::")
    .replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">").replace(/\$u20\$/g, " ")
    .replace(/\$RF\$/g, "&").replace(/\$C\$/g, ",").replace(/\$u5b\$/g, "[").replace(/\$u5d\$/g, "]")
    .replace(/\$u7b\$/g, "{").replace(/\$u7d\$/g, "}").replace(/\$BP\$/g, "*").replace(/\$u27\$/g, "'")
    .replace(/\$LP\$/g, "(").replace(/\$RP\$/g, ")").replace(/\.\./g, "::");
}

function crateOf(symbol) {
  // v0 mangling (`_RNv..Cs<hash>_4core3num..`): the first crate root named.
  if (symbol.startsWith("_R")) {
    const root = /C(?:s[0-9A-Za-z]*_)?(\d+)([A-Za-z_])/.exec(symbol);
    if (root) return symbol.slice(root.index + root[0].length - 1).slice(0, Number(root[1]));
  }
  // Names wasm-bindgen already demangled carry the crate's disambiguator: `core[c5930c85]::..`.
  const text = demangle(symbol).replace(/\[[0-9a-f]{8,16}\]/g, "");
  // `<T as Trait>::f`: the crate of T, or of the trait when T is a bare type parameter.
  let head = text;
  const qualified = /^<(.*?) as (.*?)>::/.exec(text);
  if (qualified) head = /^[A-Z][A-Za-z0-9]*$/.test(qualified[1]) ? qualified[2] : qualified[1];
  else if (text.startsWith("<")) head = text.slice(1);
  head = head.replace(/^(&|\*const |\*mut |mut |dyn |\[|\()+/, "");
  const match = /^([A-Za-z_][A-Za-z0-9_]*)::/.exec(head);
  if (match) return match[1];
  if (/^(dlmalloc|__rust|rust_|memcpy|memset|memmove|memcmp)/.test(text)) return "std (alloc, mem*)";
  if (/^(__wbg|__wbindgen|__externref|wasm_bindgen)/.test(text)) return "wasm_bindgen";
  return "(unnamed or other)";
}

const total = bytes.length;
const codeTotal = bodies.reduce((sum, b) => sum + b.size, 0);
console.log(`${file}: ${total.toLocaleString("en")} bytes, ${bodies.length} functions, ` +
  `${codeTotal.toLocaleString("en")} bytes of code`);
console.log("\nsections:");
for (const s of sections.sort((a, b) => b.size - a.size)) {
  console.log(`  ${s.size.toString().padStart(10)}  ${s.label}`);
}
if (names.size === 0) {
  console.log("\n(no function names: profile a build before wasm-opt strips them)");
  process.exit(0);
}
const byCrate = new Map();
for (const body of bodies) {
  const crate = crateOf(names.get(body.index) ?? "");
  const entry = byCrate.get(crate) ?? { size: 0, count: 0 };
  entry.size += body.size;
  entry.count += 1;
  byCrate.set(crate, entry);
}
console.log("\ncode by crate:");
for (const [crate, { size, count }] of [...byCrate].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  const share = ((100 * size) / codeTotal).toFixed(1).padStart(5);
  console.log(`  ${size.toString().padStart(10)}  ${share}%  ${count.toString().padStart(5)} fns  ${crate}`);
}
console.log(`\nlargest functions:`);
for (const body of [...bodies].sort((a, b) => b.size - a.size).slice(0, top)) {
  console.log(`  ${body.size.toString().padStart(10)}  ${demangle(names.get(body.index) ?? `#${body.index}`).slice(0, 150)}`);
}
