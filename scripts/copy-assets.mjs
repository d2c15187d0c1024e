// Copy the browser assets Kehu ships from node_modules into src/kehu/static/vendor/.
// Run with `make assets` (= `npm ci && npm run vendor`); the copied files are committed so
// that users never need Node. Only what the pages load is copied: no source maps, no demos.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "src", "kehu", "static", "vendor");

const version = (pkg) => JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
const stripSourceMap = (text) => text.replace(/\n?\/[*/]# sourceMappingURL=\S+(\s*\*\/)?\s*$/, "\n");

function copy(pkg, from, to, transform) {
  const src = join(modules, pkg, from);
  const dest = join(vendor, to);
  mkdirSync(dirname(dest), { recursive: true });
  if (transform) writeFileSync(dest, transform(readFileSync(src, "utf8")));
  else copyFileSync(src, dest);
  console.log(`${pkg}/${from} -> static/vendor/${to}`);
}

function mitLicense(holders) {
  return `The MIT License (MIT)\n\n${holders.map((h) => `Copyright (c) ${h}`).join("\n")}\n\n` +
    "Permission is hereby granted, free of charge, to any person obtaining a copy\n" +
    'of this software and associated documentation files (the "Software"), to deal\n' +
    "in the Software without restriction, including without limitation the rights\n" +
    "to use, copy, modify, merge, publish, distribute, sublicense, and/or sell\n" +
    "copies of the Software, and to permit persons to whom the Software is\n" +
    "furnished to do so, subject to the following conditions:\n\n" +
    "The above copyright notice and this permission notice shall be included in\n" +
    "all copies or substantial portions of the Software.\n\n" +
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n' +
    "IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\n" +
    "FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\n" +
    "AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\n" +
    "LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\n" +
    "OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN\n" +
    "THE SOFTWARE.\n";
}

for (const dir of ["tabler", "tabler-icons", "htmx", "sortablejs"]) rmSync(join(vendor, dir), { recursive: true, force: true });

// Tabler (Bootstrap 5 theme). tabler.min.js bundles Bootstrap's JS and Popper.
copy("@tabler/core", "dist/css/tabler.min.css", "tabler/tabler.min.css", stripSourceMap);
copy("@tabler/core", "dist/js/tabler.min.js", "tabler/tabler.min.js", stripSourceMap);
if (existsSync(join(modules, "@tabler/core", "LICENSE"))) copy("@tabler/core", "LICENSE", "tabler/LICENSE");
else {
  // The npm package carries no licence file; its package.json and file headers say MIT.
  writeFileSync(join(vendor, "tabler", "LICENSE"),
    mitLicense(["2018-2026 The Tabler Authors", "2018-2026 codecalm.net Paweł Kuna"]));
}
writeFileSync(join(vendor, "tabler", "LICENSE-bootstrap"),
  mitLicense(["2011-2025 The Bootstrap Authors"]));
copy("@popperjs/core", "LICENSE.md", "tabler/LICENSE-popper.md");

// Tabler Icons webfont: the CSS and the woff2 font only (every browser Tabler supports reads woff2).
copy("@tabler/icons-webfont", "dist/tabler-icons.min.css", "tabler-icons/tabler-icons.min.css", (css) => {
  const out = css.replace(/src:url\("\.\/fonts\/tabler-icons\.woff2\?[^"]*"\) format\("woff2"\)[^;}]*/,
    'src:url("./fonts/tabler-icons.woff2") format("woff2")');
  if (out === css) throw new Error("tabler-icons.min.css: @font-face src not recognised, update copy-assets.mjs");
  return out;
});
copy("@tabler/icons-webfont", "dist/fonts/tabler-icons.woff2", "tabler-icons/fonts/tabler-icons.woff2");
copy("@tabler/icons-webfont", "LICENSE", "tabler-icons/LICENSE");

// htmx 2.x (django-htmx expects 2.x).
copy("htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js", stripSourceMap);
copy("htmx.org", "LICENSE", "htmx/LICENSE");

// SortableJS (drag and drop on the pipeline board).
copy("sortablejs", "Sortable.min.js", "sortablejs/Sortable.min.js", stripSourceMap);
copy("sortablejs", "LICENSE", "sortablejs/LICENSE");

writeFileSync(join(vendor, "VERSIONS.txt"),
  ["@tabler/core", "@tabler/icons-webfont", "htmx.org", "@popperjs/core", "sortablejs"]
    .map((p) => `${p} ${version(p)}`).join("\n") + "\n");
console.log("vendored:", readFileSync(join(vendor, "VERSIONS.txt"), "utf8").trim().replace(/\n/g, ", "));
