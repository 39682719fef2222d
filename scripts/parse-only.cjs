const { Parser, Language } = require(require('path').join(__dirname, '../node_modules/web-tree-sitter/tree-sitter.cjs'));
const fs = require('fs'), path = require('path');
(async () => {
  const t0 = performance.now();
  await Parser.init();
  const C = await Language.load(require('path').join(__dirname, '../node_modules/tree-sitter-c/tree-sitter-c.wasm'));
  const p = new Parser(); p.setLanguage(C);
  function walk(d, out){ for (const e of fs.readdirSync(d,{withFileTypes:true})) { const f=path.join(d,e.name); if (e.isDirectory()) walk(f,out); else if (/\.[ch]$/.test(e.name)) out.push(f);} return out; }
  const files = process.argv.slice(2).flatMap(d => walk(d, []));
  for (const f of files) p.parse(fs.readFileSync(f, 'utf8')).delete();
  console.log('parse-only process', (performance.now() - t0).toFixed(0), 'ms', files.length);
})();
