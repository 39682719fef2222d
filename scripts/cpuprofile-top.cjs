// Summarises a .cpuprofile: self and inclusive ms per function, optionally only under frames whose name contains ROOT.
// usage: node scripts/cpuprofile-top.cjs PROFILE [ROOT]
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2]));
const rootName = process.argv[3];
const nodes = new Map(p.nodes.map(n => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) || 0) + (p.timeDeltas[i] || 0));
const self = new Map(), incl = new Map();
let total = 0;
for (const [id, t] of dt) {
  // walk up
  let chain = []; let cur = id; let inRoot = !rootName;
  while (cur !== undefined) { const n = nodes.get(cur); chain.push(n); if (rootName && n.callFrame.functionName.includes(rootName)) inRoot = true; cur = parent.get(cur); }
  if (!inRoot) continue;
  total += t;
  const key = n => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
  self.set(key(chain[0]), (self.get(key(chain[0])) || 0) + t);
  const seen = new Set();
  for (const n of chain) { const k = key(n); if (seen.has(k)) continue; seen.add(k); incl.set(k, (incl.get(k) || 0) + t); }
}
console.log('total ms', (total/1000).toFixed(0));
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, t]) => `${(t/1000).toFixed(0).padStart(6)}  ${n}`).join('\n');
console.log('--- self'); console.log(top(self, 40));
console.log('--- inclusive'); console.log(top(incl, 60));
