/**
 * Lock classes: an access path (`&vcpu->kvm->lock`) resolved to the key of its class (`kvm.lock`),
 * the innermost known struct that contains the lock plus the remaining fields. Globals are keyed
 * by name, pseudo locks by their fixed name. Paths that cannot be typed get a `~`-prefixed key:
 * still good for matching a release to its acquire inside one function, never used for ordering.
 *
 * Also: document lock names (`kvm->slots_lock`, `kvm_arch::tsc_write_lock`) mapped to the same
 * keys, the reverse map for messages, and the kind of lock a class is.
 */
import {
  KVM_HELPER_RETURNS,
  KVM_INLINE_MEMBERS,
  KVM_STRUCT_FIELDS,
  KVM_VARIABLE_NAMES,
  LOCK_FIELD_KINDS,
} from '../../model/kvmTypes';
import type { RuleModel } from '../../model/rules/types';
import type { AccessPath, LockKind, StructField } from '../frontend/facts';
import type { WorkspaceIndex } from './index';
import { docLockRef, type DocLockRef } from './docNames';

export interface ResolvedLock {
  /** Class key: `kvm.lock`, `kvm_hv.hv_lock`, `kvm_lock`, `cpu_hotplug_lock`, or `~text` when unresolved. */
  cls: string;
  /** Whether the class is trustworthy enough for ordering rules. */
  resolved: boolean;
  /** Lock kind from the field's declared type, when known. */
  fieldKind?: LockKind;
  /** Every struct on the way was known (a partial walk keys the class by an outer, unknown struct). */
  complete?: boolean;
}

/** A position inside a struct during a field walk: a named struct or the fields of an anonymous member. */
type Cursor = { named: string } | { inline: Map<string, FieldType> };

interface FieldType {
  type: string;
  pointer: boolean;
  inline?: Map<string, FieldType>;
}

export function isResolvedClass(cls: string): boolean {
  return !cls.startsWith('~');
}

function toFieldType(f: StructField): FieldType {
  const inline = f.inline ? new Map(f.inline.map((x) => [x.name, toFieldType(x)] as const)) : undefined;
  return { type: f.type, pointer: f.pointer, inline };
}

function lockKindOfType(type: string | undefined): LockKind | undefined {
  if (!type) return undefined;
  return LOCK_FIELD_KINDS[type] as LockKind | undefined;
}

export class ClassResolver {
  private cache = new Map<string, ResolvedLock>();

  constructor(private index: WorkspaceIndex) {}

  /** A new index with the same layout (same struct/global/helper signature): the cache stays valid. */
  setIndex(index: WorkspaceIndex): void {
    this.index = index;
  }

  /** Does struct `name` have a known layout (workspace or built-in)? */
  knowsStruct(name: string): boolean {
    return this.index.structs.has(name) || name in KVM_STRUCT_FIELDS;
  }

  fieldOf(cur: Cursor, field: string): FieldType | undefined {
    if ('inline' in cur) return cur.inline.get(field);
    const s = this.index.structs.get(cur.named);
    const f = s?.fields.get(field);
    if (f) return toFieldType(f);
    const known = KVM_STRUCT_FIELDS[cur.named]?.[field];
    if (known) return { type: known.type, pointer: known.pointer };
    const inl = KVM_INLINE_MEMBERS[cur.named]?.[field];
    if (inl) {
      return {
        type: '',
        pointer: false,
        inline: new Map(Object.entries(inl).map(([k, v]) => [k, { type: v.type, pointer: v.pointer }] as const)),
      };
    }
    // An anonymous member in the workspace definition whose fields are reachable directly
    // (`struct { ... };` without a name): look one level down.
    if (s) {
      for (const m of s.fields.values()) {
        if (!m.name && m.inline) {
          const hit = m.inline.find((x) => x.name === field);
          if (hit) return toFieldType(hit);
        }
      }
    }
    return undefined;
  }

  /** Type of a helper's result (`to_kvm_hv` -> `kvm_hv`). */
  helperReturn(name: string): string | undefined {
    return this.index.returnTypes.get(name) ?? KVM_HELPER_RETURNS[name];
  }

  private baseType(path: AccessPath): string | undefined {
    const b = path.base;
    switch (b.kind) {
      case 'var':
        return b.type && b.type !== 'void' ? b.type : KVM_VARIABLE_NAMES[b.name] ?? (/_kvm$/.test(b.name) ? 'kvm' : undefined);
      case 'global':
        return b.type;
      case 'call':
        return b.type ?? this.helperReturn(b.callee);
      default:
        return undefined;
    }
  }

  /**
   * The struct type an access path designates (`ctxt->ops` -> `x86_emulate_ops`), through the
   * struct layouts known here; undefined when the base has no type or a struct on the way has no
   * known layout.
   */
  structTypeOf(path: AccessPath): string | undefined {
    return this.walkType(this.baseType(path), path.fields) ?? (path.alias?.type ? this.walkType(path.alias.type, path.alias.fields) : undefined);
  }

  private walkType(start: string | undefined, fields: readonly string[]): string | undefined {
    if (!start) return undefined;
    let cur: Cursor = { named: start };
    for (const f of fields) {
      if ('named' in cur && !this.knowsStruct(cur.named)) return undefined;
      const ft = this.fieldOf(cur, f);
      if (!ft || (!ft.inline && !ft.type)) return undefined;
      cur = ft.inline ? { inline: ft.inline } : { named: ft.type };
    }
    return 'named' in cur ? cur.named : undefined;
  }

  private static cacheKey(path: AccessPath): string {
    const b = path.base;
    let bk: string;
    switch (b.kind) {
      case 'var':
        bk = `v:${b.name}:${b.type ?? ''}`;
        break;
      case 'global':
        bk = `g:${b.name}:${b.type ?? ''}`;
        break;
      case 'call':
        bk = `c:${b.callee}:${b.type ?? ''}`;
        break;
      case 'pseudo':
        bk = `p:${b.name}`;
        break;
      default:
        bk = `u:${path.text}`;
    }
    const alias = path.alias ? `|a:${path.alias.type ?? ''}:${path.alias.fields.join('.')}` : '';
    return bk + '|' + path.fields.join('.') + alias;
  }

  resolve(path: AccessPath): ResolvedLock {
    const key = ClassResolver.cacheKey(path);
    let r = this.cache.get(key);
    if (!r) {
      r = this.compute(path);
      this.cache.set(key, r);
    }
    return r;
  }

  private compute(path: AccessPath): ResolvedLock {
    const r = this.computeBase(path);
    // A substituted local alias (`vcpu = filp->private_data`) whose expansion could not be typed
    // all the way: the alias's declared type is the better key.
    if ((!r.resolved || r.complete === false) && path.alias?.type && path.alias.fields.length) {
      const a = this.walk(path.alias.type, path.alias.fields);
      // Neither typed all the way (no layout of either struct): the alias's declared type is still
      // the name a callee taking that pointer gives the lock (`struct kvmppc_vcore *vc`).
      if (a.complete !== false || r.complete === false) return a;
    }
    return r;
  }

  private computeBase(path: AccessPath): ResolvedLock {
    const b = path.base;
    if (b.kind === 'pseudo') return { cls: b.name, resolved: true };
    if (b.kind === 'global' && path.fields.length === 0) {
      const g = this.index.globals.get(b.name);
      return { cls: b.name, resolved: true, fieldKind: g && g.kind !== 'unknown' ? g.kind : undefined };
    }
    if (b.kind === 'unknown') return { cls: '~' + path.text.replace(/\s+/g, ''), resolved: false };
    const t = this.baseType(path);
    if (!t || path.fields.length === 0) {
      if (b.kind === 'global') return { cls: [b.name, ...path.fields].join('.'), resolved: true };
      return { cls: '~' + path.text.replace(/\s+/g, ''), resolved: false };
    }
    return this.walk(t, path.fields);
  }

  /**
   * Walks `fields` from struct `start`; the class is the innermost named struct reached plus the
   * fields left. When a field is missing from a struct that was entered through an embedded
   * member, the parent is tried (the 6.12 document says `kvm->arch.mmu_lock` for `kvm->mmu_lock`).
   */
  walk(start: string, fields: string[]): ResolvedLock {
    let cur: Cursor = { named: start };
    let lastNamed = start;
    let lastIdx = 0;
    // Named structs entered through embedded members: [struct, index of first field inside it].
    const trail: { named: string; idx: number }[] = [{ named: start, idx: 0 }];
    let fieldKind: LockKind | undefined;
    let complete = this.knowsStruct(start);
    for (let i = 0; i < fields.length; i++) {
      let ft = this.fieldOf(cur, fields[i]);
      if (!ft && 'named' in cur && trail.length > 1 && this.knowsStruct(cur.named)) {
        const parent = trail[trail.length - 2];
        const viaParent = this.fieldOf({ named: parent.named }, fields[i]);
        if (viaParent) {
          ft = viaParent;
          trail.pop();
          lastNamed = parent.named;
          lastIdx = i;
        }
      }
      if (!ft) {
        // Stuck in a struct we do not know (`irqfd->resampler->kvm->irqfds.resampler_lock`
        // without the header): a later member named like a KVM object types the rest.
        const j = this.namedMemberAfter(fields, i);
        if (j < 0) {
          if (i < fields.length - 1 || !('named' in cur && this.knowsStruct(cur.named))) complete = false;
          break;
        }
        cur = { named: KVM_VARIABLE_NAMES[fields[j]] ?? 'kvm' };
        lastNamed = cur.named;
        lastIdx = j + 1;
        trail.length = 0;
        trail.push({ named: cur.named, idx: j + 1 });
        i = j;
        complete = true;
        continue;
      }
      if (i === fields.length - 1) {
        fieldKind = lockKindOfType(ft.type);
        break;
      }
      if (ft.inline) {
        cur = { inline: ft.inline };
      } else if (ft.type) {
        cur = { named: ft.type };
        if (this.knowsStruct(ft.type)) {
          lastNamed = ft.type;
          lastIdx = i + 1;
          trail.push({ named: ft.type, idx: i + 1 });
        }
      } else {
        break;
      }
    }
    const rest = fields.slice(lastIdx);
    return { cls: rest.length ? `${lastNamed}.${rest.join('.')}` : lastNamed, resolved: true, fieldKind, complete };
  }

  /** Index of a member after `from` (not the last field) whose name says its type (`kvm`, `vcpu`, `*_kvm`). */
  private namedMemberAfter(fields: string[], from: number): number {
    for (let j = fields.length - 2; j >= from; j--) {
      const f = fields[j];
      if (f === 'kvm' || f === 'vcpu' || /_kvm$/.test(f)) return j;
    }
    return -1;
  }

  /** Maps a document lock name to a class key, or null when the name is not a lock reference. */
  docNameToClass(name: string): string | null {
    const ref: DocLockRef | null = docLockRef(name);
    if (!ref) return null;
    if (ref.kind === 'global' || ref.kind === 'pseudo') return ref.name;
    if (ref.fields.length === 0) return ref.baseType;
    return this.walk(ref.baseType, ref.fields).cls;
  }

  /** Kind of a class from its declared field type, when the layout is known. */
  kindOfClass(cls: string): LockKind | undefined {
    if (!isResolvedClass(cls)) return undefined;
    const g = this.index.globals.get(cls);
    if (g) return g.kind !== 'unknown' ? g.kind : undefined;
    if (cls === 'cpu_hotplug_lock') return 'cpu_hotplug';
    if (cls === 'rcu') return 'rcu';
    const parts = cls.split('.');
    if (parts.length < 2) return undefined;
    return this.walk(parts[0], parts.slice(1)).fieldKind;
  }
}

/** Document names <-> class keys for one rule model. */
export class DocNames {
  /** class -> the document's name for it (first one met). */
  readonly nameOf = new Map<string, string>();
  /** document name -> class. */
  readonly classOf = new Map<string, string>();

  constructor(rules: RuleModel, resolver: ClassResolver) {
    const add = (name: string): void => {
      if (this.classOf.has(name)) return;
      const cls = resolver.docNameToClass(name);
      if (!cls) return;
      this.classOf.set(name, cls);
      if (!this.nameOf.has(cls)) this.nameOf.set(cls, name);
    };
    for (const l of rules.locks) add(l.name);
    for (const o of rules.orders) {
      add(o.outer);
      add(o.inner);
    }
    for (const s of rules.srcu) {
      add(s.domain);
      s.syncUnder.forEach(add);
      s.forbiddenInside.forEach(add);
      s.allowedInside.forEach(add);
    }
    for (const n of rules.notifier) n.forbidden.forEach(add);
    for (const m of rules.mustAlsoHold) {
      add(m.lock);
      add(m.mustHold);
    }
  }

  /** The name to show for a class: the document's, else a readable `struct.field` form. */
  display(cls: string): string {
    const doc = this.nameOf.get(cls);
    if (doc) return doc;
    return isResolvedClass(cls) ? cls : cls.slice(1);
  }
}
