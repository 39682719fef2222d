/**
 * The x86 MMU's shadow page-table entry (SPTE), reduced to the bits that KVM's locking rules talk
 * about. An SPTE is a plain immutable record; `encodeSpte` packs it into a number for hashing and
 * for the whole-value comparison that cmpxchg does, and `toEptBits` shows where each field lives
 * in a real 64-bit EPT entry (Linux 6.12 layout) for hovers and demos.
 *
 * Deliberately NOT in the record: the gfn. A leaf SPTE holds a pfn; the gfn it stands for is a
 * property of the shadow page (fixed per index for a direct page, taken from the guest PTE for an
 * indirect one). That is exactly why cmpxchg cannot see the gfn->pfn ABA of locking.rst.
 */

export interface Spte {
  /** Software "MMU-present" (SPTE_MMU_PRESENT_MASK): KVM considers the entry shadow-present. */
  readonly present: boolean;
  /** Hardware readable (EPT R; for legacy shadow paging this stands for the P bit). */
  readonly r: boolean;
  /** Hardware writable (PT_WRITABLE_MASK). */
  readonly w: boolean;
  /** Hardware executable. */
  readonly x: boolean;
  /** The host (memslot and host page tables) allows writes. Set at creation, never changed while present. */
  readonly hostWritable: boolean;
  /** The guest's MMU allows writes and KVM has not write-protected the gfn for shadowing. */
  readonly mmuWritable: boolean;
  /** Accessed bit (meaningful only when A/D is enabled for this SPTE). */
  readonly accessed: boolean;
  /** Dirty bit (meaningful only when A/D is enabled for this SPTE). */
  readonly dirty: boolean;
  /** Per-SPTE A/D type is DISABLED: no hardware A/D bits, aging works by access tracking. */
  readonly adDisabled: boolean;
  /** R saved by mark-for-access-track (meaningful while access-tracked). */
  readonly savedR: boolean;
  /** X saved by mark-for-access-track. */
  readonly savedX: boolean;
  /** Host page frame the entry maps. */
  readonly pfn: number;
}

/** The boolean fields, in a fixed order (used for encoding and for enumerating truth tables). */
export const SPTE_FLAGS = [
  'present',
  'r',
  'w',
  'x',
  'hostWritable',
  'mmuWritable',
  'accessed',
  'dirty',
  'adDisabled',
  'savedR',
  'savedX',
] as const;

export type SpteFlag = (typeof SPTE_FLAGS)[number];

/** A non-present SPTE (SHADOW_NONPRESENT_VALUE in the kernel). */
export const NONPRESENT_SPTE: Spte = Object.freeze({
  present: false,
  r: false,
  w: false,
  x: false,
  hostWritable: false,
  mmuWritable: false,
  accessed: false,
  dirty: false,
  adDisabled: false,
  savedR: false,
  savedX: false,
  pfn: 0,
});

/** A shadow-present SPTE with the given fields; unspecified flags are false, pfn 0. */
export function makeSpte(fields: Partial<Spte>): Spte {
  return { ...NONPRESENT_SPTE, present: true, ...fields };
}

/** A copy with some fields changed. */
export function withBits(s: Spte, fields: Partial<Spte>): Spte {
  return { ...s, ...fields };
}

/** Model encoding: flag i at bit i, pfn above them. Two SPTEs are equal iff their codes are. */
export function encodeSpte(s: Spte): number {
  let v = 0;
  for (let i = 0; i < SPTE_FLAGS.length; i++) if (s[SPTE_FLAGS[i]]) v |= 1 << i;
  return v + s.pfn * (1 << SPTE_FLAGS.length);
}

export function decodeSpte(v: number): Spte {
  const n = SPTE_FLAGS.length;
  const flags = v % (1 << n);
  const out: Record<string, boolean | number> = { pfn: Math.floor(v / (1 << n)) };
  for (let i = 0; i < n; i++) out[SPTE_FLAGS[i]] = (flags & (1 << i)) !== 0;
  return out as unknown as Spte;
}

export function spteEquals(a: Spte, b: Spte): boolean {
  return encodeSpte(a) === encodeSpte(b);
}

/** Every combination of the flags (2^11) with the given pfn; for truth tables and tests. */
export function allSpteCombinations(pfn = 1): Spte[] {
  const out: Spte[] = [];
  for (let v = 0; v < 1 << SPTE_FLAGS.length; v++) out.push(decodeSpte(v + pfn * (1 << SPTE_FLAGS.length)));
  return out;
}

// ---- Real 64-bit layout (EPT, Linux 6.12) ---------------------------------------------------

/** Bit positions of an EPT SPTE as KVM 6.12 lays it out (see kvm-facts.md section 5.1). */
export const EPT_BIT = {
  r: 0,
  w: 1,
  x: 2,
  accessed: 8,
  dirty: 9,
  present: 11,
  /** A/D type field is bits 52-53; DISABLED is the value 1. */
  adDisabled: 52,
  savedR: 54,
  savedX: 56,
  hostWritable: 57,
  mmuWritable: 58,
} as const;

export const EPT_PFN_SHIFT = 12;
/** SHADOW_NONPRESENT_VALUE on 64-bit hosts: only the suppress-#VE bit. */
export const EPT_NONPRESENT_VALUE = 1n << 63n;

/**
 * The SPTE as a 64-bit EPT entry. Bit 63 (suppress #VE) is always set, so NONPRESENT_SPTE
 * becomes exactly SHADOW_NONPRESENT_VALUE; other fields are encoded as they are.
 */
export function toEptBits(s: Spte): bigint {
  let v = EPT_NONPRESENT_VALUE | (BigInt(s.pfn) << BigInt(EPT_PFN_SHIFT));
  for (const [field, bit] of Object.entries(EPT_BIT)) {
    if (s[field as SpteFlag]) v |= 1n << BigInt(bit);
  }
  return v;
}

export function fromEptBits(v: bigint): Spte {
  const bit = (b: number) => ((v >> BigInt(b)) & 1n) === 1n;
  const fields: Record<string, boolean | number> = {
    pfn: Number((v >> BigInt(EPT_PFN_SHIFT)) & ((1n << 40n) - 1n)),
  };
  for (const [field, b] of Object.entries(EPT_BIT)) fields[field] = bit(b);
  return fields as unknown as Spte;
}

export function formatEptBits(s: Spte): string {
  return '0x' + toEptBits(s).toString(16).padStart(16, '0');
}

// ---- Display ------------------------------------------------------------------------------

function rwx(r: boolean, w: boolean, x: boolean): string {
  return (r ? 'r' : '-') + (w ? 'w' : '-') + (x ? 'x' : '-');
}

/**
 * Compact one-line form used in race tables, e.g. `r-x W=0 H=1 M=1 A=1 D=0 pfn1`.
 * A/D-disabled SPTEs show `A/D=off`; access-tracked ones show the saved bits.
 */
export function formatSpte(s: Spte): string {
  if (!s.present) return 'non-present';
  const parts = [rwx(s.r, s.w, s.x), `W=${+s.w}`, `H=${+s.hostWritable}`, `M=${+s.mmuWritable}`];
  if (s.adDisabled) {
    parts.push('A/D=off');
    if (!s.r && !s.w && !s.x) parts.push(`tracked(saved ${rwx(s.savedR, false, s.savedX)})`);
  } else {
    parts.push(`A=${+s.accessed}`, `D=${+s.dirty}`);
  }
  parts.push(`pfn${s.pfn}`);
  return parts.join(' ');
}
